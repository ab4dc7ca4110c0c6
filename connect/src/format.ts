// Money, dates and the payout schedule in the reader's locale. Amounts are integer minor units from the
// wire to the screen: the currency's fraction digits come from Intl (JPY 0, USD 2), and a typed amount is
// parsed back to minor units with string arithmetic, never through a float.

import { isMessageKey, type MessageKey, translate } from "./messages.js";
import type { Destination, PayoutDestination, Schedule } from "./types.js";

// Stripe counts ISK in hundredths although it has no decimals on screen (STRIPE_API.md §11).
const WIRE_DIGITS: Record<string, number> = { isk: 2 };
const WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

export class Format {
  readonly locale: string;
  constructor(locale: string) {
    this.locale = locale;
  }

  t(key: MessageKey, vars?: Record<string, string | number>): string {
    return translate(this.locale, key, vars);
  }

  /** How many decimals the currency shows. */
  digits(currency: string): number {
    try {
      return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
    } catch {
      return 2;
    }
  }

  private wireDigits(currency: string): number {
    return WIRE_DIGITS[currency.toLowerCase()] ?? this.digits(currency);
  }

  /** The decimal string of an amount in minor units ("1234.5" → no: 12345 USD → "123.45"). */
  private decimal(amount: number, currency: string): string {
    const wire = this.wireDigits(currency);
    const shown = this.digits(currency);
    const negative = amount < 0;
    const digits = String(Math.abs(Math.trunc(amount))).padStart(wire + 1, "0");
    const whole = wire ? digits.slice(0, -wire) : digits;
    const fraction = (wire ? digits.slice(-wire) : "").slice(0, shown || 0);
    return (negative ? "-" : "") + whole + (shown ? "." + fraction.padEnd(shown, "0") : "");
  }

  money(amount: number, currency: string): string {
    const value = this.decimal(amount, currency);
    try {
      // Intl takes the decimal string as is (no float on the way: formatting of strings is exact).
      return new Intl.NumberFormat(this.locale, { style: "currency", currency: currency.toUpperCase() }).format(
        value as unknown as number,
      );
    } catch {
      return `${value} ${currency.toUpperCase()}`;
    }
  }

  /** The amount as the user edits it: no symbol, no grouping, the locale's decimal separator. */
  amountInput(amount: number, currency: string): string {
    return this.decimal(amount, currency).replace(".", this.decimalSeparator());
  }

  decimalSeparator(): string {
    const part = new Intl.NumberFormat(this.locale).formatToParts(1.5).find((p) => p.type === "decimal");
    return part?.value ?? ".";
  }

  /** A typed amount in minor units, or null when it is not a number with at most the currency's decimals. */
  parseAmount(text: string, currency: string): number | null {
    const cleaned = normalizeDecimal(text, this.decimalSeparator());
    if (cleaned === null) return null;
    const match = /^(\d*)(?:\.(\d*))?$/.exec(cleaned);
    if (!match || (match[1] === "" && !match[2])) return null;
    const shown = this.digits(currency);
    const wire = this.wireDigits(currency);
    const fraction = match[2] ?? "";
    if (fraction.length > shown) return null;
    const minor = (match[1] || "0") + fraction.padEnd(wire, "0");
    const value = Number(minor);
    return Number.isSafeInteger(value) ? value : null;
  }

  date(unix: number | null | undefined): string {
    if (unix === null || unix === undefined) return "—";
    return new Intl.DateTimeFormat(this.locale, { dateStyle: "medium", timeZone: "UTC" }).format(new Date(unix * 1000));
  }

  dateTime(unix: number): string {
    return new Intl.DateTimeFormat(this.locale, { dateStyle: "medium", timeStyle: "short" }).format(
      new Date(unix * 1000),
    );
  }

  weekday(anchor: string): string {
    const index = WEEKDAYS.indexOf(anchor.toLowerCase());
    if (index < 0) return anchor;
    // 2024-01-01 was a Monday.
    return new Intl.DateTimeFormat(this.locale, { weekday: "long", timeZone: "UTC" }).format(
      new Date(Date.UTC(2024, 0, 1 + index)),
    );
  }

  dayOfMonth(day: number): string {
    const language = this.locale.split("-")[0];
    if (language === "en") {
      const rule = new Intl.PluralRules(this.locale, { type: "ordinal" }).select(day);
      const suffix = ({ one: "st", two: "nd", few: "rd" } as Record<string, string>)[rule] ?? "th";
      return `${day}${suffix}`;
    }
    if (language === "fr") return day === 1 ? "1er" : String(day);
    if (language === "de") return `${day}.`;
    if (language === "ja") return `${day}日`;
    return String(day);
  }

  schedule(schedule: Schedule): string {
    switch (schedule.interval) {
      case "manual":
        return this.t("scheduleManual");
      case "weekly":
        return this.t("scheduleWeekly", { day: this.weekday(schedule.weekly_anchor ?? "monday") });
      case "monthly":
        return this.t("scheduleMonthly", { ordinal: this.dayOfMonth(schedule.monthly_anchor ?? 1) });
      default: {
        const n = schedule.delay_days;
        if (n === null || n === undefined) return this.t("scheduleDailyBare");
        return n === 1 ? this.t("scheduleDailyOne") : this.t("scheduleDaily", { n });
      }
    }
  }

  destination(d: Destination | PayoutDestination | null | undefined): string {
    if (!d) return "—";
    const name = d.object === "card" ? (d.brand ?? this.t("card")) : (d.bank_name ?? this.t("bankAccount"));
    return `${name} •••• ${d.last4}`;
  }

  /** A balance transaction's `type` for reading, translated; a type without a message is humanized
   * (`payout_failure` → "Payout failure") rather than shown raw. */
  transactionType(type: string): string {
    const key = `txn_${type}`;
    if (isMessageKey(key)) return this.t(key);
    const words = type.replace(/_/g, " ");
    return words.charAt(0).toUpperCase() + words.slice(1);
  }

  status(status: string): string {
    const key = (status === "pending" ? "statusPending" : status) as MessageKey;
    const text = translate(this.locale, key);
    return text === undefined || text === key ? status : text;
  }
}

/**
 * A typed number with "." as its decimal point and no grouping, or null. Both "." and "," are read,
 * whatever the locale: the last one is the decimal point when both appear ("1.234,56", "1,234.56");
 * a lone separator followed by exactly three digits is read as the locale reads it ("1.234" is 1234 in
 * de-DE and 1.234 in en-US, and then refused for having too many decimals); otherwise it is the decimal
 * point ("12.50" is twelve and a half in fr-FR too: a payout is never a hundred times the intent).
 */
export function normalizeDecimal(text: string, localeDecimal: string): string | null {
  const compact = text.trim().replace(/[\s\u00a0\u202f'’]/g, "");
  if (!/^[\d.,]*$/.test(compact)) return null;
  const count = (c: string): number => compact.split(c).length - 1;
  const last = Math.max(compact.lastIndexOf("."), compact.lastIndexOf(","));
  if (last < 0) return compact;
  const separator = compact[last]!;
  const other = separator === "." ? "," : ".";
  const before = compact.slice(0, last);
  const after = compact.slice(last + 1);
  if (count(other) > 0) {
    // Both: the last is the decimal point, once; the other groups.
    const whole = count(separator) === 1 ? ungroup(before, other) : null;
    return whole === null ? null : `${whole}.${after}`;
  }
  // One kind: several are grouping; one before exactly three digits is what the locale says.
  if (count(separator) > 1) return ungroup(compact, separator);
  if (after.length === 3 && separator !== localeDecimal) return before + after;
  return `${before}.${after}`;
}

/** Digits grouped by thousands ("1,234,567") without the separators, or null when badly grouped. */
function ungroup(text: string, separator: string): string | null {
  const [first, ...groups] = text.split(separator);
  if (!groups.length) return text;
  if (!first || first.length > 3 || groups.some((g) => g.length !== 3)) return null;
  return first + groups.join("");
}
