// Payoutkit's connect.js: the embeddable payout components and the entry points of Stripe's script.
//
// - `window.StripeConnect.init(params)` → instance `{connect, create, update, logout}`: what the stock
//   @stripe/connect-js loader looks for (it uses `window.StripeConnect` as soon as `init` is a function,
//   calls `init` with the page's params plus `metaOptions.eagerClientSecretPromise`, then hands
//   `instance.connect` to each element it creates through `element.setConnector(...)`).
// - `window.loadConnectAndInitialize(params)`: the same instance, for pages without the npm package.
//
// The API is the origin this script was loaded from (captured while it runs: `document.currentScript`).

import { BalancesElement } from "./balances.js";
import { PayoutDetailsElement } from "./payout-details.js";
import { PayoutsElement } from "./payouts.js";
import { PayoutsListElement } from "./payouts-list.js";
import { type Appearance, Connector, type InitParams, loadFonts } from "./session.js";

declare const __PAYOUTKIT_CONNECT_VERSION__: string;

const ELEMENTS: Record<string, CustomElementConstructor> = {
  balances: BalancesElement,
  payouts: PayoutsElement,
  "payouts-list": PayoutsListElement,
  "payout-details": PayoutDetailsElement,
};

function scriptOrigin(): string {
  // currentScript is this script while it runs (a classic script, in the page or injected); a page
  // that evaluates the bundle some other way is looked up by the script's name, then the page's origin.
  const script = (document.currentScript ??
    document.querySelector('script[src$="/connect.js"]')) as HTMLScriptElement | null;
  try {
    if (script?.src) return new URL(script.src, window.location.href).origin;
  } catch {
    // fall through to the page's origin
  }
  return window.location.origin;
}

const API_BASE = scriptOrigin();

for (const [tag, element] of Object.entries(ELEMENTS)) {
  const name = `stripe-connect-${tag}`;
  if (!customElements.get(name)) customElements.define(name, element);
}

interface ConnectElement extends HTMLElement {
  setConnector(connector: Connector): void;
}

export interface Instance {
  connect: Connector;
  create(tag: string): HTMLElement;
  update(options: { appearance?: Appearance; locale?: string }): void;
  logout(): Promise<void>;
  debugInstance(): Promise<Instance>;
}

function init(params: InitParams): Instance {
  if (!params || typeof params.fetchClientSecret !== "function") {
    throw new Error("StripeConnect.init needs {publishableKey, fetchClientSecret}");
  }
  if (typeof params.publishableKey !== "string" || !params.publishableKey) {
    throw new Error("StripeConnect.init needs a publishableKey");
  }
  loadFonts(params.fonts);
  const connector = new Connector(API_BASE, params);
  const instance: Instance = {
    connect: connector,
    create(tag: string): HTMLElement {
      const name = tag.startsWith("stripe-connect-") ? tag : `stripe-connect-${tag}`;
      if (!customElements.get(name)) throw new Error(`Payoutkit's connect.js has no component "${tag}"`);
      const element = document.createElement(name) as ConnectElement;
      element.setConnector(connector);
      return element;
    },
    update(options) {
      connector.update(options ?? {});
    },
    logout() {
      return connector.logout();
    },
    debugInstance() {
      return Promise.resolve(instance);
    },
  };
  return instance;
}

type StripeConnectGlobal = { init: typeof init; version: string; optimizedLoading?: boolean };

declare global {
  interface Window {
    StripeConnect?: StripeConnectGlobal;
    loadConnectAndInitialize?: (params: InitParams) => Instance;
  }
}

window.StripeConnect = { init, version: __PAYOUTKIT_CONNECT_VERSION__ };
window.loadConnectAndInitialize = (params: InitParams) => init(params);
