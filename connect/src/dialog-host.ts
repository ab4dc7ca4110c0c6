// What the dialogs of `balances` (pay out, edit schedule) need of the element that opens them. The
// dialogs depend on this, not on BalancesElement, so the element imports its dialogs and nothing
// imports it back.

import type { PkElement } from "./base.js";
import type { Account, Destination, Method } from "./types.js";

export interface DialogHost extends PkElement {
  account: Account | null;
  destinationsFor(currency: string): Destination[];
  reasonText(reason: string, method: Method, message?: string | null): string;
  refresh(account?: boolean): Promise<void>;
}
