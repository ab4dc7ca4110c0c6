// The demo's pages: mount Payoutkit's components with connect.js, drive the console, show the webhook
// log. No framework: the platform's own site is whatever it already is.
"use strict";

const config = JSON.parse(document.getElementById("demo-config").textContent);
const THEMES = {
  default: {},
  forest: {variables: {colorPrimary: "#2f6f4f", colorBackground: "#f4f8f2", colorText: "#1d3326",
                       borderRadius: "12px", fontFamily: "Georgia, serif"}},
  night: {variables: {colorPrimary: "#8ab4f8", colorBackground: "#1f2430", colorText: "#e8eaed",
                      colorSecondaryText: "#aab0bb", colorBorder: "#3c4350", borderRadius: "4px"}},
};
let instance = null;
let lastEvent = 0;

function money(amount, currency) {
  if (amount === null || amount === undefined) return "";
  const format = new Intl.NumberFormat("en-US", {style: "currency", currency: currency.toUpperCase()});
  return format.format(amount / 10 ** format.resolvedOptions().maximumFractionDigits);
}

function showClock(now) {
  if (!now) return;
  const text = new Date(now * 1000).toUTCString().replace("GMT", "UTC");
  document.getElementById("clock").textContent = "Simulated clock: " + text;
}

// -- connect.js: the session comes from the platform's backend ---------------------------------------

function features() {
  const wanted = {};
  for (const box of document.querySelectorAll("#features input")) wanted[box.name] = box.checked;
  return wanted;
}

function looks() {
  const theme = document.querySelector("#looks [name=theme]");
  const locale = document.querySelector("#looks [name=locale]");
  return {appearance: THEMES[theme ? theme.value : "default"], locale: locale ? locale.value : "en-US"};
}

async function fetchClientSecret() {
  const response = await fetch("/api/session", {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({account: config.account, features: features()}),
  });
  if (!response.ok) throw new Error("the platform could not create an account session");
  return (await response.json()).client_secret;
}

function init() {
  instance = window.StripeConnect.init({
    publishableKey: config.publishableKey, fetchClientSecret, ...looks(),
  });
  mount();
}

function mount() {
  for (const slot of document.querySelectorAll("[data-component]")) {
    const element = instance.create(slot.dataset.component);
    if (slot.dataset.component === "payout-details") {
      element.setPayout(config.payout);
      element.setOnClose(() => { window.location.href = "/accounts/" + config.account; });
    }
    slot.replaceChildren(element);
  }
}

// A visitor in the middle of a dialog is not interrupted by a refresh.
function busy() {
  const open = (root) => root.querySelector("dialog[open]") ||
    [...root.querySelectorAll("*")].some((e) => e.shadowRoot && open(e.shadowRoot));
  return Boolean(open(document));
}

let refreshing = null;
function refresh() {
  // Components fetch once when mounted: mounting them again shows what the ledger holds now.
  clearTimeout(refreshing);
  refreshing = setTimeout(() => { if (instance && !busy()) mount(); }, 300);
}

// -- the console -------------------------------------------------------------------------------------

async function act(action, body) {
  const result = document.getElementById("console-result");
  result.textContent = "…";
  const response = await fetch("/api/console/" + action, {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({account: config.account, ...body}),
  });
  const answer = await response.json();
  result.textContent = answer.error || answer.message;
  result.className = answer.error ? "error" : "ok";
  showClock(answer.now);
  refresh();
}

function wireConsole() {
  const form = document.getElementById("charge-form");
  if (!form) return;
  const fields = () => ({
    amount: Number(form.amount.value), currency: form.currency.value, source: form.source.value,
  });
  form.addEventListener("submit", (event) => { event.preventDefault(); act("charge", fields()); });
  for (const button of form.querySelectorAll("button[type=button]")) {
    button.addEventListener("click", () => act(button.dataset.action, fields()));
  }
  for (const button of document.querySelectorAll("[data-advance]")) {
    button.addEventListener("click", () => act("advance", {by: button.dataset.advance}));
  }
  for (const tab of document.querySelectorAll("[data-tab]")) {
    // `payouts` is the balance summary with the payouts list; `balances` the summary alone.
    tab.addEventListener("click", () => {
      for (const other of document.querySelectorAll("[data-tab]")) {
        other.setAttribute("aria-selected", String(other === tab));
      }
      document.getElementById("component").dataset.component = tab.dataset.tab;
      mount();
    });
  }
  for (const box of document.querySelectorAll("#features input")) {
    // Features are the session's: a new instance claims a new session with them.
    box.addEventListener("change", async () => { await instance.logout(); init(); });
  }
  for (const select of document.querySelectorAll("#looks select")) {
    select.addEventListener("change", () => instance.update(looks()));
  }
}

// -- the webhook log ---------------------------------------------------------------------------------

async function poll() {
  try {
    const response = await fetch("/api/events?after=" + lastEvent);
    const {events, last} = await response.json();
    const log = document.getElementById("webhook-log");
    for (const event of events) {
      // The account on screen's events, and the platform's own; the other accounts' are left out.
      if (event.account && event.account !== config.account) continue;
      const item = document.createElement("li");
      item.dataset.type = event.type;
      item.className = event.account ? "mine" : "platform";
      item.textContent = [event.type, event.object, money(event.amount, event.currency || "usd"),
                          event.status, event.account || "platform"].filter(Boolean).join(" · ");
      log.prepend(item);
      while (log.children.length > 60) log.lastChild.remove();
    }
    // Something happened to this account or the platform since the last poll: show it.
    if (lastEvent && events.some((e) => !e.account || e.account === config.account)) refresh();
    lastEvent = last;
  } catch (error) {
    console.warn("webhook log:", error);
  }
  setTimeout(poll, 1500);
}

showClock(config.now);
if (config.publishableKey && window.StripeConnect) init();
wireConsole();
if (document.getElementById("webhook-log")) poll();
