// What every component shares: the connector (the session client the stock loader hands over with
// `setConnector`), the load-error and loader-start callbacks, the appearance and locale (re-applied when
// `update()` changes them), and the loading / error states around the component's own `fetchData()`.
//
// The stock @stripe/connect-js loader replaces `setOnLoadError` & co. on the element it creates with its
// own functions that call `setOnLoadErrorInternalOnly` & co.: both names are implemented here.

import { LitElement, html, type TemplateResult } from "lit";
import { applyAppearance } from "./appearance.js";
import { Format } from "./format.js";
import { resolveLocale } from "./messages.js";
import { ApiError, type Connector } from "./session.js";
import { base } from "./styles.js";
import type { LoadError } from "./types.js";

export type LoadErrorListener = (event: LoadError) => void;
export type LoaderStartListener = (event: { elementTagName: string }) => void;

type State = "idle" | "loading" | "ready" | "error";

/** The parent component a nested one reports to (`payouts` holds `balances` and `payouts-list`). */
export interface Parent {
  connector: Connector | null;
  tagName: string;
  reportLoadError(error: unknown): void;
}

export abstract class PkElement extends LitElement {
  static override styles = base;

  connector: Connector | null = null;
  fmt = new Format("en-US");
  protected state: State = "idle";
  protected error: ApiError | null = null;
  protected parentComponent: Parent | null = null;
  private onLoadError: LoadErrorListener | null = null;
  private onLoaderStart: LoaderStartListener | null = null;
  private unsubscribe: (() => void) | null = null;

  /** Which component's features govern this element's requests (`balances` or `payouts`). */
  component = "balances";

  // -- the public setters (and the stock loader's *InternalOnly twins) -------------------------------
  setConnector(connector: Connector): void {
    if (this.connector === connector) return;
    this.unsubscribe?.();
    this.connector = connector;
    this.unsubscribe = connector.subscribe((event) => this.onConnectorEvent(event));
    this.applyOptions();
    if (this.isConnected) void this.reload();
  }

  // The *InternalOnly twins never call the public names: on an element the stock loader made, those
  // are the loader's own functions, which call the twins again (an endless loop of promises).
  setOnLoadError(listener: LoadErrorListener): void {
    this.onLoadError = listener;
  }
  setOnLoadErrorInternalOnly(listener: LoadErrorListener): void {
    this.onLoadError = listener;
  }
  setOnLoaderStart(listener: LoaderStartListener): void {
    this.onLoaderStart = listener;
  }
  setOnLoaderStartInternalOnly(listener: LoaderStartListener): void {
    this.onLoaderStart = listener;
  }

  /** Nest this element in another component: same connector, errors reported as the parent's. */
  set embeddedIn(parent: Parent) {
    this.parentComponent = parent;
    if (parent.connector) this.setConnector(parent.connector);
  }

  override connectedCallback(): void {
    super.connectedCallback();
    if (this.connector && this.unsubscribe === null) {
      this.unsubscribe = this.connector.subscribe((event) => this.onConnectorEvent(event));
      this.applyOptions();
    }
    if (this.connector && this.state === "idle") void this.reload();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  protected onConnectorEvent(event: "options" | "payouts" | "logout"): void {
    if (event === "options") {
      this.applyOptions();
      this.requestUpdate();
    } else if (event === "logout") {
      this.state = "error";
      this.error = new ApiError(401, { type: "authentication_error", message: "Logged out" });
      this.requestUpdate();
    } else {
      this.onPayoutsChanged();
    }
  }

  protected onPayoutsChanged(): void {}

  /** The dialogs' class: `appearance.overlays: "drawer"` slides them in from the side. */
  get overlayClass(): string {
    return this.connector?.appearance.overlays === "drawer" ? "drawer" : "";
  }

  private applyOptions(): void {
    if (!this.connector) return;
    applyAppearance(this, this.connector.appearance);
    const locale = resolveLocale(this.connector.locale);
    this.fmt = new Format(locale);
    this.lang = locale;
  }

  /** Loads the component's data, showing the loading state, then the component or the error state. */
  async reload(): Promise<void> {
    if (!this.connector) return;
    this.state = "loading";
    this.error = null;
    this.requestUpdate();
    this.onLoaderStart?.({ elementTagName: this.tagName.toLowerCase() });
    try {
      await this.fetchData();
      this.state = "ready";
    } catch (error) {
      this.state = "error";
      this.error = asApiError(error);
      this.reportLoadError(this.error);
    }
    this.requestUpdate();
  }

  reportLoadError(error: unknown): void {
    const e = asApiError(error);
    if (this.parentComponent) {
      this.parentComponent.reportLoadError(e);
      return;
    }
    const message = e.body.message;
    const event: LoadError = {
      error: message === undefined ? { type: e.body.type } : { type: e.body.type, message },
      elementTagName: this.tagName.toLowerCase(),
    };
    try {
      this.onLoadError?.(event);
    } catch (listenerError) {
      console.error(listenerError);
    }
  }

  protected abstract fetchData(): Promise<void>;
  protected abstract renderReady(): TemplateResult;

  override render(): TemplateResult {
    const t = this.fmt.t.bind(this.fmt);
    if (this.state === "error") {
      return html`<div class="state" role="alert">
        <p><strong>${t("errorTitle")}</strong></p>
        <p class="muted">${this.error?.message ?? ""}</p>
        <button type="button" @click=${() => void this.reload()}>${t("retry")}</button>
      </div>`;
    }
    if (this.state === "ready") return this.renderReady();
    return html`<div class="state" role="status" aria-live="polite">
      <span class="sr-only">${t("loading")}</span>
      <div class="skeleton" style="width:40%"></div>
      <div class="skeleton" style="width:70%"></div>
      <div class="skeleton" style="width:55%"></div>
    </div>`;
  }
}

export function asApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new ApiError(0, { type: "render_error", message });
}

/** A fresh idempotency key (crypto.randomUUID where the page is a secure context). */
export function newIdempotencyKey(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Opens a native modal dialog and returns focus to the opener when it closes. */
// The focus-return handler of each dialog's current opening (`openDialog`).
const focusReturns = new WeakMap<HTMLDialogElement, () => void>();

export function openDialog(dialog: HTMLDialogElement | null, opener: Element | null): void {
  if (!dialog || dialog.open) return;
  const previous = focusReturns.get(dialog);
  if (previous) dialog.removeEventListener("close", previous);
  const onClose = (): void => {
    if (staleClose(dialog)) return;
    dialog.removeEventListener("close", onClose);
    focusReturns.delete(dialog);
    if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
  };
  focusReturns.set(dialog, onClose);
  dialog.addEventListener("close", onClose);
  dialog.showModal();
}

// Whether a `close` event of `dialog` belongs to an earlier opening: the browser fires `close` as a task
// of its own after the dialog closed, so a dialog closed (Escape) and opened again at once (Enter, before
// that task ran) receives its first opening's `close` while open again. Handlers ignore such an event.
export function staleClose(dialog: HTMLDialogElement | null | undefined): boolean {
  return dialog?.open === true;
}
