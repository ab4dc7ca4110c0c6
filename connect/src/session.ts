// The session client: one per `StripeConnect.init(...)`. It claims the account session's client secret
// once for an embedded token (kept in memory only), sends the components' requests with it, and when
// the server answers 401 `session_expired` it asks the platform for a new secret (`fetchClientSecret`),
// claims it and retries the request once: the components never see the expiry, so what the user typed
// and the dialog they have open stay as they were. Concurrent requests share one claim.

import type { Account, ApiErrorBody } from "./types.js";

export type Appearance = {
  overlays?: "dialog" | "drawer";
  variables?: Record<string, string | number | undefined>;
};

export type FontSource =
  | { cssSrc: string }
  | { family: string; src: string; display?: string; style?: string; weight?: string; unicodeRange?: string };

export interface InitParams {
  publishableKey: string;
  fetchClientSecret: () => Promise<string>;
  appearance?: Appearance;
  locale?: string;
  fonts?: FontSource[];
  // Set by the stock @stripe/connect-js loader: it calls fetchClientSecret itself, once, eagerly.
  metaOptions?: { eagerClientSecretPromise?: Promise<string> } & Record<string, unknown>;
}

export class ApiError extends Error {
  readonly status: number;
  readonly body: ApiErrorBody;
  constructor(status: number, body: ApiErrorBody) {
    super(body.message ?? body.type);
    this.status = status;
    this.body = body;
  }
  get code(): string | undefined {
    return this.body.code;
  }
}

type Listener = (event: "options" | "payouts" | "logout") => void;

const EXPIRED = "session_expired";

export class Connector {
  readonly base: string;
  appearance: Appearance;
  locale: string | undefined;
  private readonly params: InitParams;
  private eagerSecret: Promise<string> | null;
  private tokenPromise: Promise<string> | null = null;
  private accountPromise: Promise<Account> | null = null;
  private readonly listeners = new Set<Listener>();
  private loggedOut = false;

  constructor(base: string, params: InitParams) {
    this.base = base;
    this.params = params;
    this.appearance = params.appearance ?? {};
    this.locale = params.locale;
    // The first secret is asked for at once (the stock loader has already asked: use its promise).
    this.eagerSecret = params.metaOptions?.eagerClientSecretPromise ?? this.askSecret();
    this.eagerSecret.catch(() => undefined);
    void this.token().catch(() => undefined);
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: "options" | "payouts" | "logout"): void {
    for (const listener of [...this.listeners]) listener(event);
  }

  update(options: { appearance?: Appearance; locale?: string }): void {
    if (options.appearance !== undefined) this.appearance = options.appearance;
    if (options.locale !== undefined) this.locale = options.locale;
    this.emit("options");
  }

  /** End the session on the server too (`POST /embedded/v1/logout`: its tokens stop working at once),
   * then forget the token. The server's answer is not waited on for anything: a token that cannot be
   * ended (a network error, already expired) is forgotten all the same. */
  async logout(): Promise<void> {
    const held = this.tokenPromise;
    this.loggedOut = true;
    this.tokenPromise = null;
    this.accountPromise = null;
    this.emit("logout");
    if (held === null) return;
    try {
      await this.send("POST", "/embedded/v1/logout", await held, {});
    } catch {
      // forgotten here whatever the server answered (see above)
    }
  }

  /** The session's account (cached: every component of the instance shares it). */
  account(fresh = false): Promise<Account> {
    if (fresh || this.accountPromise === null) {
      const p = this.request<Account>("GET", "/embedded/v1/account");
      this.accountPromise = p;
      p.catch(() => {
        if (this.accountPromise === p) this.accountPromise = null;
      });
    }
    return this.accountPromise;
  }

  async request<T>(method: "GET" | "POST", path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
    let claim = this.token();
    let response = await this.send(method, path, await claim, body, headers);
    if (response.status === 401 && (await errorOf(response.clone())).code === EXPIRED) {
      claim = this.refresh(claim);
      response = await this.send(method, path, await claim, body, headers);
    }
    if (!response.ok) throw new ApiError(response.status, await errorOf(response));
    return (await response.json()) as T;
  }

  private askSecret(): Promise<string> {
    try {
      return Promise.resolve(this.params.fetchClientSecret());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private token(): Promise<string> {
    if (this.loggedOut) {
      return Promise.reject(new ApiError(401, { type: "authentication_error", message: "Logged out" }));
    }
    if (this.tokenPromise === null) {
      const secret = this.eagerSecret ?? this.askSecret();
      this.eagerSecret = null;
      const p = this.claim(secret, true);
      this.tokenPromise = p;
      // A failed claim is not kept: the next request (a "Try again") claims afresh.
      p.catch(() => {
        if (this.tokenPromise === p) this.tokenPromise = null;
      });
    }
    return this.tokenPromise;
  }

  private refresh(stale: Promise<string>): Promise<string> {
    if (this.tokenPromise === stale) this.tokenPromise = null;
    return this.token();
  }

  private async claim(secretPromise: Promise<string>, retryExpired: boolean): Promise<string> {
    let secret: string;
    try {
      secret = await secretPromise;
    } catch (error) {
      throw new ApiError(0, { type: "account_session_create_error", message: messageOf(error) });
    }
    const response = await this.send("POST", "/embedded/v1/claim", null, {
      client_secret: secret,
      publishable_key: this.params.publishableKey,
    });
    if (!response.ok) {
      const error = await errorOf(response);
      if (retryExpired && response.status === 401 && error.code === EXPIRED) {
        return this.claim(this.askSecret(), false);
      }
      throw new ApiError(response.status, error);
    }
    const claimed = (await response.json()) as { token: string };
    return claimed.token;
  }

  private async send(
    method: string,
    path: string,
    token: string | null,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Response> {
    const init: RequestInit = { method, headers: { Accept: "application/json", ...headers }, credentials: "omit" };
    const h = init.headers as Record<string, string>;
    if (token) h["Authorization"] = `Bearer ${token}`;
    if (body !== undefined && method !== "GET") {
      h["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    try {
      return await fetch(this.base + path, init);
    } catch (error) {
      throw new ApiError(0, { type: "api_connection_error", message: messageOf(error) });
    }
  }
}

async function errorOf(response: Response): Promise<ApiErrorBody> {
  try {
    const json = (await response.json()) as { error?: ApiErrorBody };
    if (json.error && typeof json.error.type === "string") return json.error;
  } catch {
    // not JSON: described by the status below
  }
  return { type: response.status >= 500 ? "api_error" : "invalid_request_error", message: `HTTP ${response.status}` };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The page's fonts for the components: a stylesheet (`cssSrc`) or a FontFace. */
export function loadFonts(fonts: FontSource[] | undefined): void {
  for (const font of fonts ?? []) {
    try {
      if ("cssSrc" in font) {
        const link = document.createElement("link");
        link.rel = "stylesheet";
        link.href = font.cssSrc;
        document.head.appendChild(link);
      } else {
        const descriptors: FontFaceDescriptors = {};
        if (font.style) descriptors.style = font.style;
        if (font.weight) descriptors.weight = font.weight;
        if (font.display) descriptors.display = font.display as FontDisplay;
        if (font.unicodeRange) descriptors.unicodeRange = font.unicodeRange;
        const face = new FontFace(font.family, font.src, descriptors);
        document.fonts.add(face);
        void face.load().catch(() => undefined);
      }
    } catch {
      // a bad font entry must not stop the components
    }
  }
}
