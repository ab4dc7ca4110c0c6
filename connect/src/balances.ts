// <stripe-connect-balances>: per currency the total, available now, pending (and when it becomes
// available), in transit and instant available; the payout schedule in plain words and the destination;
// the Pay out dialog (payout-dialog.ts) and the Edit schedule dialog (schedule-dialog.ts) where the
// session's features allow them. Where a payout is not available the component says why: an element
// with `data-reason="<code>"` (the embedded API's reason codes, docs/embedded.md §2).

import { html, nothing, type TemplateResult } from "lit";
import { PkElement } from "./base.js";
import { PayoutDialog } from "./payout-dialog.js";
import { ScheduleDialog } from "./schedule-dialog.js";
import type { Account, Balance, CurrencyBalance, Destination, Method } from "./types.js";

export class BalancesElement extends PkElement {
  account: Account | null = null;
  balance: Balance | null = null;
  private readonly payout = new PayoutDialog(this);
  private readonly scheduleDialog = new ScheduleDialog(this);

  protected async fetchData(): Promise<void> {
    const [account, balance] = await Promise.all([this.connector!.account(), this.fetchBalance()]);
    this.account = account;
    this.balance = balance;
  }

  private fetchBalance(): Promise<Balance> {
    return this.connector!.request<Balance>("GET", `/embedded/v1/balance?component=${this.component}`);
  }

  /** Refreshes the figures in place (after a payout or a schedule change), keeping what is on screen. */
  async refresh(account = false): Promise<void> {
    try {
      const [a, b] = await Promise.all([
        account ? this.connector!.account(true) : Promise.resolve(this.account),
        this.fetchBalance(),
      ]);
      this.account = a;
      this.balance = b;
    } catch (error) {
      this.reportLoadError(error);
    }
    this.requestUpdate();
  }

  protected override onPayoutsChanged(): void {
    if (this.state === "ready") void this.refresh();
  }

  get features(): Record<string, boolean | undefined> {
    return (this.account?.components[this.component]?.features ?? {}) as Record<string, boolean | undefined>;
  }

  destinationsFor(currency: string): Destination[] {
    return (this.account?.destinations ?? []).filter((d) => d.currency.toLowerCase() === currency.toLowerCase());
  }

  protected renderReady(): TemplateResult {
    const t = this.fmt.t.bind(this.fmt);
    const currencies = this.balance?.currencies ?? [];
    return html`
      <section aria-label=${t("balances")}>
        ${currencies.length === 0
          ? html`<div class="card state">${t("emptyBalance")}</div>`
          : currencies.map((c) => this.renderCurrency(c))}
        ${this.renderSettings()}
      </section>
      ${this.payout.render()} ${this.scheduleDialog.render()}
    `;
  }

  private renderCurrency(c: CurrencyBalance): TemplateResult {
    const t = this.fmt.t.bind(this.fmt);
    const m = (amount: number): string => this.fmt.money(amount, c.currency);
    const allowed = c.payouts.standard.allowed || c.payouts.instant.allowed;
    return html`<div class="card" data-currency=${c.currency}>
      <h2>${c.currency.toUpperCase()}</h2>
      <dl>
        <div>
          <dt>${t("total")}</dt>
          <dd class="big" data-figure="total">${m(c.total)}</dd>
        </div>
      </dl>
      <dl class="grid">
        <div>
          <dt>${t("available")}</dt>
          <dd data-figure="available">${m(c.available)}</dd>
        </div>
        <div>
          <dt>${t("pending")}</dt>
          <dd data-figure="pending">
            ${m(c.pending)}
            ${c.pending_by_date.length
              ? html`<ul class="plain muted">
                  ${c.pending_by_date.map(
                    (p) => html`<li>${t("pendingOn", { amount: m(p.amount), date: this.fmt.date(p.available_on) })}</li>`,
                  )}
                </ul>`
              : nothing}
          </dd>
        </div>
        <div>
          <dt>${t("inTransit")}</dt>
          <dd data-figure="in_transit">${m(c.in_transit)}</dd>
        </div>
        ${c.instant_available === null
          ? nothing
          : html`<div>
              <dt>${t("instantAvailable")}</dt>
              <dd data-figure="instant_available">${m(c.instant_available)}</dd>
            </div>`}
      </dl>
      ${allowed
        ? html`<div class="actions">
            <button type="button" class="primary" @click=${(e: Event) => this.payout.open(c, e.currentTarget as Element)}>
              ${t("payOut")}
            </button>
          </div>`
        : nothing}
      ${this.renderReason(c, "standard")} ${this.renderReason(c, "instant")}
    </div>`;
  }

  private renderReason(c: CurrencyBalance, method: Method): TemplateResult | typeof nothing {
    const availability = c.payouts[method];
    if (availability.allowed || !availability.reason) return nothing;
    const reason = availability.reason;
    // Both methods refused for the same reason: say it once.
    if (method === "instant" && !c.payouts.standard.allowed && c.payouts.standard.reason === reason) return nothing;
    return html`<p class="reason" data-reason=${reason} data-method=${method}>${this.reasonText(reason, method, availability.message)}</p>`;
  }

  reasonText(reason: string, method: Method, message?: string | null): string {
    const t = this.fmt.t.bind(this.fmt);
    switch (reason) {
      case "not_manual":
        return t("reason_not_manual");
      case "no_instant_destination":
        return t("reason_no_instant_destination");
      case "limit_reached":
        return t("reason_limit_reached");
      case "no_pricing":
        return t("reason_no_pricing");
      case "no_funds":
        return t("reason_no_funds");
      case "not_enabled":
        return t(method === "instant" ? "reason_not_enabled_instant" : "reason_not_enabled_standard");
      default:
        return message || t("reason_not_eligible");
    }
  }

  private renderSettings(): TemplateResult | typeof nothing {
    const account = this.account;
    if (!account) return nothing;
    const t = this.fmt.t.bind(this.fmt);
    const destination =
      account.destinations.find((d) => d.default_for_currency && d.currency === account.default_currency) ??
      account.destinations[0];
    return html`<div class="card">
      <dl class="grid">
        <div>
          <dt>${t("schedule")}</dt>
          <dd data-figure="schedule">${this.fmt.schedule(account.schedule)}</dd>
        </div>
        <div>
          <dt>${t("destination")}</dt>
          <dd data-figure="destination">${destination ? this.fmt.destination(destination) : t("noDestination")}</dd>
        </div>
      </dl>
      ${this.features["edit_payout_schedule"]
        ? html`<div class="actions">
            <button type="button" @click=${(e: Event) => this.scheduleDialog.open(e.currentTarget as Element)}>
              ${t("editSchedule")}
            </button>
          </div>`
        : nothing}
    </div>`;
  }
}
