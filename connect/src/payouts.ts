// <stripe-connect-payouts>: the balances (with Pay out and Edit schedule, by the `payouts` component's
// features) above the payouts list. Both are the public elements nested, with this element's connector;
// their load errors are reported as this element's.

import { html, type TemplateResult } from "lit";
import { PkElement } from "./base.js";

export class PayoutsElement extends PkElement {
  override component = "payouts";

  protected async fetchData(): Promise<void> {
    // The nested elements load their own data; this one is ready at once.
  }

  protected renderReady(): TemplateResult {
    return html`<stripe-connect-balances .component=${"payouts"} .embeddedIn=${this}></stripe-connect-balances>
      <stripe-connect-payouts-list .component=${"payouts"} .embeddedIn=${this}></stripe-connect-payouts-list>`;
  }
}
