// The Keys page, shown when gossip encryption is on: the keys installed
// across the cluster and how many members hold each.

import { $, el, clear, showError } from "./dom.js";
import { get } from "./api.js";

/** init wires the refresh button; onAuth is called on a 401. */
export function init(onAuth) {
  $("keys-refresh").addEventListener("click", () => load(onAuth));
}

/** load asks every member for its keys (GET /v1/keys) and shows them. */
export async function load(onAuth) {
  const body = $("keys-body");
  $("keys-summary").textContent = "Asking the members…";
  let reply;
  try {
    reply = await get("/v1/keys");
    showError("keys-error", "");
  } catch (err) {
    if (onAuth(err)) return;
    $("keys-summary").textContent = "";
    showError("keys-error", err.message);
    return;
  }
  clear(body);
  const keys = Object.entries(reply.Keys || {}).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  for (const [key, n] of keys) {
    const all = n === reply.NumResp;
    body.append(el("tr", {}, el("td", { class: "mono" }, key), el("td", {}, n + " of " + reply.NumResp + (all ? "" : " (not on every member)"))));
  }
  $("keys-summary").textContent =
    reply.NumResp + " of " + reply.NumNodes + " members answered" + (reply.NumErr ? ", " + reply.NumErr + " with an error" : "") + ".";
  const msgs = Object.entries(reply.Messages || {});
  if (msgs.length) showError("keys-error", msgs.map(([n, m]) => n + ": " + m).join("; "));
}
