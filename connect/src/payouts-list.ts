// <stripe-connect-payouts-list>: the account's payouts, newest first, ten a page (Previous / Next by
// cursor). A row opens the payout's details in a dialog (a <stripe-connect-payout-details> inside it);
// closing it returns focus to the row's button.

import { html, nothing, type TemplateResult } from "lit";
import { PkElement, openDialog, staleClose } from "./base.js";
import type { PayoutDetailsElement } from "./payout-details.js";
import type { Payout, PayoutPage } from "./types.js";

const PAGE_SIZE = 10;

export class PayoutsListElement extends PkElement {
  private page: PayoutPage | null = null;
  // starting_after of each page shown so far: [] is the first page.
  private cursors: (string | null)[] = [null];
  private opened: string | null = null;

  protected async fetchData(): Promise<void> {
    const after = this.cursors[this.cursors.length - 1];
    let path = `/embedded/v1/payouts?limit=${PAGE_SIZE}`;
    if (after) path += `&starting_after=${encodeURIComponent(after)}`;
    this.page = await this.connector!.request<PayoutPage>("GET", path);
  }

  protected override onPayoutsChanged(): void {
    this.cursors = [null];
    void this.silentReload();
  }

  private async silentReload(): Promise<void> {
    try {
      await this.fetchData();
      this.state = "ready";
    } catch (error) {
      this.reportLoadError(error);
    }
    this.requestUpdate();
  }

  private go(delta: 1 | -1): void {
    const data = this.page?.data ?? [];
    if (delta === 1 && data.length) this.cursors = [...this.cursors, data[data.length - 1]!.id];
    if (delta === -1 && this.cursors.length > 1) this.cursors = this.cursors.slice(0, -1);
    void this.silentReload();
  }

  private open(payout: Payout, opener: Element): void {
    this.opened = payout.id;
    this.requestUpdate();
    void this.updateComplete.then(() => {
      const dialog = this.renderRoot.querySelector<HTMLDialogElement>("dialog#details");
      const details = dialog?.querySelector<PayoutDetailsElement>("stripe-connect-payout-details");
      details?.setOnClose(() => dialog?.close());
      openDialog(dialog ?? null, opener);
    });
  }

  protected renderReady(): TemplateResult {
    const fmt = this.fmt;
    const t = fmt.t.bind(fmt);
    const data = this.page?.data ?? [];
    return html`
      <div class="card">
        ${data.length === 0 && this.cursors.length === 1
          ? html`<h2>${t("payouts")}</h2>
              <p class="state">${t("noPayouts")}</p>`
          : html`<table aria-label=${t("payouts")}>
                <caption>${t("payouts")}</caption>
                <thead>
                  <tr>
                    <th scope="col">${t("date")}</th>
                    <th scope="col" class="num">${t("amount")}</th>
                    <th scope="col">${t("status")}</th>
                    <th scope="col" class="wide-only">${t("destination")}</th>
                    <th scope="col" class="wide-only">${t("method")}</th>
                  </tr>
                </thead>
                <tbody>
                  ${data.map((p) => this.renderRow(p))}
                </tbody>
              </table>
              ${this.cursors.length <= 1 && !this.page?.has_more
                ? nothing
                : html`<div class="actions end" style="margin-top:8px">
                    <button type="button" ?disabled=${this.cursors.length <= 1} @click=${() => this.go(-1)}>
                      ${t("previous")}
                    </button>
                    <button type="button" ?disabled=${!this.page?.has_more} @click=${() => this.go(1)}>
                      ${t("next")}
                    </button>
                  </div>`}`}
      </div>
      <dialog
        id="details"
        class="wide ${this.overlayClass}"
        aria-label=${t("payoutDetails")}
        @close=${(e: Event) => {
          if (staleClose(e.currentTarget as HTMLDialogElement)) return;
          this.opened = null;
          this.requestUpdate();
        }}
      >
        ${this.opened
          ? html`<stripe-connect-payout-details .embeddedIn=${this} .payoutId=${this.opened}></stripe-connect-payout-details>`
          : nothing}
      </dialog>
    `;
  }

  private renderRow(p: Payout): TemplateResult {
    const fmt = this.fmt;
    return html`<tr
      class="open"
      data-payout=${p.id}
      @click=${(e: Event) => {
        const button = (e.currentTarget as HTMLElement).querySelector("button");
        if (e.target !== button) this.open(p, button ?? (e.currentTarget as Element));
      }}
    >
      <td>
        <button type="button" class="link" @click=${(e: Event) => this.open(p, e.currentTarget as Element)}>
          ${fmt.date(p.created)}
        </button>
      </td>
      <td class="num">${fmt.money(p.amount, p.currency)}</td>
      <td><span class="badge ${p.status}">${fmt.status(p.status)}</span></td>
      <td class="wide-only">${fmt.destination(p.destination)}</td>
      <td class="wide-only">${fmt.t(p.method)}</td>
    </tr>`;
  }
}
