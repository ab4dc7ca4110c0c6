// <stripe-connect-payout-details>: one payout (`setPayout(id)`): amount, status, fee and net, the arrival
// date, the destination, the status history and the balance transactions it settled; a Close button
// that calls the `setOnClose` listener.

import { html, nothing, type TemplateResult } from "lit";
import { PkElement } from "./base.js";
import type { PayoutDetail } from "./types.js";

export class PayoutDetailsElement extends PkElement {
  private payoutIdValue: string | null = null;
  private payout: PayoutDetail | null = null;
  private onClose: (() => void) | null = null;

  set payoutId(id: string) {
    this.showPayout(id);
  }

  // The *InternalOnly twins never call the public names (base.ts says why).
  setPayout(id: string): void {
    this.showPayout(id);
  }
  setPayoutInternalOnly(id: string): void {
    this.showPayout(id);
  }
  setOnClose(listener: () => void): void {
    this.onClose = listener;
  }
  setOnCloseInternalOnly(listener: () => void): void {
    this.onClose = listener;
  }

  private showPayout(id: string): void {
    if (id === this.payoutIdValue) return;
    this.payoutIdValue = id;
    this.payout = null;
    if (this.connector && this.isConnected) void this.reload();
  }

  protected async fetchData(): Promise<void> {
    if (!this.payoutIdValue) {
      // Nothing to show until setPayout: a ready, empty panel.
      this.payout = null;
      return;
    }
    this.payout = await this.connector!.request<PayoutDetail>(
      "GET",
      `/embedded/v1/payouts/${encodeURIComponent(this.payoutIdValue)}`,
    );
  }

  private close(): void {
    try {
      this.onClose?.();
    } catch (error) {
      console.error(error);
    }
  }

  protected renderReady(): TemplateResult {
    const p = this.payout;
    const fmt = this.fmt;
    const t = fmt.t.bind(fmt);
    const closeButton = html`<button type="button" @click=${() => this.close()}>${t("close")}</button>`;
    if (!p) return html`<div class="actions end">${closeButton}</div>`;
    const m = (amount: number): string => fmt.money(amount, p.currency);
    return html`<article aria-labelledby="details-title" data-payout=${p.id}>
      <div class="header">
        <h2 id="details-title">${t("payoutDetails")}</h2>
        ${closeButton}
      </div>
      <p class="big">${m(p.amount)} <span class="badge ${p.status}">${fmt.status(p.status)}</span></p>
      ${p.failure_message ? html`<p class="error">${p.failure_message}</p>` : nothing}
      <dl class="grid">
        <div><dt>${t("arrivalDate")}</dt><dd data-figure="arrival_date">${fmt.date(p.arrival_date)}</dd></div>
        <div><dt>${t("fee")}</dt><dd data-figure="fee">${m(p.fee)}</dd></div>
        <div><dt>${t("net")}</dt><dd data-figure="net">${m(p.net)}</dd></div>
        <div><dt>${t("destination")}</dt><dd>${fmt.destination(p.destination)}</dd></div>
        <div><dt>${t("method")}</dt><dd>${t(p.method)}</dd></div>
        <div><dt>${t("type")}</dt><dd>${t(p.automatic ? "automatic" : "manualPayout")}</dd></div>
        <div><dt>${t("created")}</dt><dd>${fmt.dateTime(p.created)}</dd></div>
      </dl>
      <h3>${t("history")}</h3>
      <ol class="plain" data-section="history">
        ${p.history.map(
          (h) => html`<li><span class="badge ${h.status}">${fmt.status(h.status)}</span> <span class="muted">${fmt.dateTime(h.at)}</span></li>`,
        )}
      </ol>
      <h3 style="margin-top:16px">${t("transactions")}</h3>
      ${p.transactions.length === 0
        ? html`<p class="muted">${t("noTransactions")}</p>`
        : html`<table aria-label=${t("transactions")}>
            <thead>
              <tr>
                <th scope="col">${t("type")}</th>
                <th scope="col" class="wide-only">${t("description")}</th>
                <th scope="col" class="num">${t("amount")}</th>
                <th scope="col" class="num wide-only">${t("fee")}</th>
                <th scope="col" class="num">${t("date")}</th>
              </tr>
            </thead>
            <tbody>
              ${p.transactions.map(
                (x) => html`<tr data-transaction=${x.id}>
                  <td>${fmt.transactionType(x.type)}</td>
                  <td class="wide-only">${x.description ?? ""}</td>
                  <td class="num">${m(x.amount)}</td>
                  <td class="num wide-only">${m(x.fee)}</td>
                  <td class="num">${fmt.date(x.created)}</td>
                </tr>`,
              )}
            </tbody>
          </table>`}
    </article>`;
  }
}

