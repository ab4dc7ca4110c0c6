/// <reference types="node" />
// Money in and out of the screen: node --test on the bundled module (connect/test.mjs).
import assert from "node:assert/strict";
import { test } from "node:test";
import { Format, normalizeDecimal } from "../src/format.js";

test("minor units are shown with the currency's own decimals", () => {
  assert.equal(new Format("en-US").money(12345, "usd"), "$123.45");
  assert.equal(new Format("en-US").money(5000, "jpy"), "¥5,000");
  assert.equal(new Format("ja-JP").money(5000, "jpy"), "￥5,000");
  assert.equal(new Format("de-DE").money(123456, "eur"), "1.234,56\u00a0€");
  assert.equal(new Format("en-US").money(-50, "usd"), "-$0.50");
  // ISK: counted in hundredths (Stripe), shown without decimals.
  assert.equal(new Format("en-US").money(10000, "isk"), "ISK\u00a0100");
  // Exact beyond a double's precision.
  assert.equal(new Format("en-US").money(900719925474099, "usd"), "$9,007,199,254,740.99");
});

test("the amount field round-trips minor units in each locale", () => {
  for (const locale of ["en-US", "en-GB", "fr-FR", "de-DE", "ja-JP"]) {
    const f = new Format(locale);
    for (const [amount, currency] of [[12000, "usd"], [5, "eur"], [5000, "jpy"], [10000, "isk"], [1, "usd"]] as const) {
      assert.equal(f.parseAmount(f.amountInput(amount, currency), currency), amount, `${locale} ${currency} ${amount}`);
    }
  }
});

test("typed amounts are read without a float and never as a hundred times the intent", () => {
  const us = new Format("en-US");
  const fr = new Format("fr-FR");
  const de = new Format("de-DE");
  assert.equal(us.parseAmount("12.34", "usd"), 1234);
  assert.equal(us.parseAmount("1,234.5", "usd"), 123450);
  assert.equal(us.parseAmount("1,234", "usd"), 123400);
  assert.equal(us.parseAmount(" 20 ", "usd"), 2000);
  assert.equal(us.parseAmount(".5", "usd"), 50);
  assert.equal(fr.parseAmount("12,50", "eur"), 1250);
  assert.equal(fr.parseAmount("12.50", "eur"), 1250);
  assert.equal(fr.parseAmount("1 234,56", "eur"), 123456);
  assert.equal(de.parseAmount("1.234,56", "eur"), 123456);
  assert.equal(de.parseAmount("1.234", "eur"), 123400);
  assert.equal(us.parseAmount("1.234", "usd"), null); // three decimals for a two-decimal currency
  assert.equal(us.parseAmount("1,000,000", "usd"), 100000000);
  assert.equal(us.parseAmount("500", "jpy"), 500);
  assert.equal(us.parseAmount("500.5", "jpy"), null);
  for (const bad of ["", "abc", "-5", "1e3", "1.2.3,4", "$5"]) assert.equal(us.parseAmount(bad, "usd"), null, bad);
  assert.equal(normalizeDecimal("1,234.56", "."), "1234.56");
});

test("the schedule in plain words", () => {
  const en = new Format("en-US");
  assert.equal(en.schedule({ interval: "daily", delay_days: 2, weekly_anchor: null, monthly_anchor: null }), "Daily, 2 business days after funds arrive");
  assert.equal(en.schedule({ interval: "daily", delay_days: 1, weekly_anchor: null, monthly_anchor: null }), "Daily, 1 business day after funds arrive");
  assert.equal(en.schedule({ interval: "weekly", delay_days: 2, weekly_anchor: "monday", monthly_anchor: null }), "Weekly on Monday");
  assert.equal(en.schedule({ interval: "monthly", delay_days: 2, weekly_anchor: null, monthly_anchor: 31 }), "Monthly on the 31st");
  assert.equal(en.schedule({ interval: "monthly", delay_days: 2, weekly_anchor: null, monthly_anchor: 22 }), "Monthly on the 22nd");
  assert.equal(en.schedule({ interval: "monthly", delay_days: 2, weekly_anchor: null, monthly_anchor: 13 }), "Monthly on the 13th");
  assert.equal(en.schedule({ interval: "manual", delay_days: null, weekly_anchor: null, monthly_anchor: null }), "Manual");
  assert.equal(new Format("fr-FR").schedule({ interval: "weekly", delay_days: 2, weekly_anchor: "friday", monthly_anchor: null }), "Hebdomadaire, le vendredi");
  assert.equal(new Format("de-DE").schedule({ interval: "monthly", delay_days: 2, weekly_anchor: null, monthly_anchor: 1 }), "Monatlich am 1.");
});

test("a balance transaction's type is read in the locale, and an unknown one humanized", () => {
  assert.equal(new Format("en-US").transactionType("payout_failure"), "Failed payout");
  assert.equal(new Format("fr-FR").transactionType("payout"), "Virement");
  assert.equal(new Format("de-DE").transactionType("stripe_fee"), "Bearbeitungsgebühr");
  assert.equal(new Format("ja-JP").transactionType("refund"), "返金");
  assert.equal(new Format("en-GB").transactionType("payout_cancel"), "Cancelled payout");
  assert.equal(new Format("en-GB").transactionType("charge"), "Charge"); // falls back to en-US
  assert.equal(new Format("fr-FR").transactionType("climate_order_purchase"), "Climate order purchase");
  // A wire value is never taken for another message's key.
  assert.equal(new Format("en-US").transactionType("constructor"), "Constructor");
});
