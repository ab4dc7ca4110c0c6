/// <reference types="node" />
// The session client against a scripted fetch (the real server is the browser tests'): one claim at
// start, a new secret and one retry on `session_expired` with the same request and headers.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ApiError, Connector } from "../src/session.js";

type Call = { url: string; method: string; headers: Record<string, string>; body: unknown };

function scripted(answers: ((call: Call) => [number, unknown])[]): Call[] {
  const calls: Call[] = [];
  globalThis.fetch = (async (url: string, init: RequestInit) => {
    const call: Call = {
      url,
      method: init.method ?? "GET",
      headers: init.headers as Record<string, string>,
      body: init.body ? JSON.parse(init.body as string) : undefined,
    };
    calls.push(call);
    const answer = answers.shift();
    assert.ok(answer, `unexpected request ${call.method} ${url}`);
    const [status, body] = answer(call);
    return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  }) as typeof fetch;
  return calls;
}

const expired = { error: { type: "authentication_error", code: "session_expired", message: "expired" } };

test("one claim at start; an expired token gets a new secret, a new claim and one retry", async () => {
  let secrets = 0;
  const calls = scripted([
    () => [200, { token: "ekt_test_1" }],
    () => [401, expired],
    (c) => [200, { token: c.body && (c.body as { client_secret: string }).client_secret === "accs_secret__2" ? "ekt_test_2" : "bad" }],
    () => [200, { id: "po_1" }],
  ]);
  const connector = new Connector("http://127.0.0.1:9", {
    publishableKey: "pk_test_x",
    fetchClientSecret: async () => `accs_secret__${++secrets}`,
  });
  const body = { amount: 1234, currency: "usd", method: "standard" };
  const payout = await connector.request<{ id: string }>("POST", "/embedded/v1/payouts", body, { "Idempotency-Key": "k1" });
  assert.equal(payout.id, "po_1");
  assert.equal(secrets, 2);
  assert.deepEqual(calls.map((c) => c.url.replace("http://127.0.0.1:9", "")), [
    "/embedded/v1/claim",
    "/embedded/v1/payouts",
    "/embedded/v1/claim",
    "/embedded/v1/payouts",
  ]);
  assert.deepEqual(calls[0]!.body, { client_secret: "accs_secret__1", publishable_key: "pk_test_x" });
  // The retry is the same request: same body, same idempotency key, the new token.
  assert.deepEqual(calls[3]!.body, body);
  assert.equal(calls[1]!.headers["Idempotency-Key"], "k1");
  assert.equal(calls[3]!.headers["Idempotency-Key"], "k1");
  assert.equal(calls[1]!.headers["Authorization"], "Bearer ekt_test_1");
  assert.equal(calls[3]!.headers["Authorization"], "Bearer ekt_test_2");
});

test("the stock loader's eager secret is claimed instead of asking again", async () => {
  let secrets = 0;
  const calls = scripted([() => [200, { token: "ekt_test_1" }], () => [200, { currencies: [] }]]);
  const connector = new Connector("http://127.0.0.1:9", {
    publishableKey: "pk_test_x",
    fetchClientSecret: async () => `accs_secret__${++secrets}`,
    metaOptions: { eagerClientSecretPromise: Promise.resolve("accs_secret__eager") },
  });
  await connector.request("GET", "/embedded/v1/balance");
  assert.equal(secrets, 0);
  assert.deepEqual(calls[0]!.body, { client_secret: "accs_secret__eager", publishable_key: "pk_test_x" });
});

test("a refusal is an ApiError with the server's type and code; a second expiry is not retried again", async () => {
  scripted([
    () => [200, { token: "ekt_test_1" }],
    () => [401, expired],
    () => [200, { token: "ekt_test_2" }],
    () => [401, expired],
  ]);
  const connector = new Connector("http://127.0.0.1:9", {
    publishableKey: "pk_test_x",
    fetchClientSecret: async () => "accs_secret__x",
  });
  await assert.rejects(connector.request("GET", "/embedded/v1/account"), (e: unknown) => {
    assert.ok(e instanceof ApiError);
    assert.equal(e.status, 401);
    assert.equal(e.code, "session_expired");
    return true;
  });
});

test("fetchClientSecret failing is an account_session_create_error", async () => {
  scripted([]);
  const connector = new Connector("http://127.0.0.1:9", {
    publishableKey: "pk_test_x",
    fetchClientSecret: async () => {
      throw new Error("backend down");
    },
  });
  await assert.rejects(connector.request("GET", "/embedded/v1/account"), (e: unknown) => {
    assert.ok(e instanceof ApiError);
    assert.equal(e.body.type, "account_session_create_error");
    assert.equal(e.message, "backend down");
    return true;
  });
});
