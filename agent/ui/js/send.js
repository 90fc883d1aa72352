// The Send page: a user event, and a query whose acks and responses
// appear as they stream in.

import { $, el, clear, payloadNode } from "./dom.js";
import { request, stream } from "./api.js";

let running = null; // the AbortController of the query under way

/** init wires both forms; onAuth is called on a 401. */
export function init(onAuth) {
  $("event-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const out = $("ev-result");
    const name = $("ev-name").value;
    const coalesce = $("ev-coalesce").checked;
    out.className = "";
    out.textContent = "Sending…";
    try {
      await request("POST", "/v1/event/" + encodeURIComponent(name) + "?coalesce=" + coalesce, $("ev-payload").value);
      out.textContent = "Sent " + name + " at " + new Date().toLocaleTimeString() + ".";
    } catch (err) {
      if (onAuth(err)) return;
      out.className = "error";
      out.textContent = "Not sent: " + err.message;
    }
  });
  $("query-form").addEventListener("submit", (e) => {
    e.preventDefault();
    query(onAuth);
  });
}

// list splits a comma-separated field.
function list(id) {
  return $(id)
    .value.split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

async function query(onAuth) {
  if (running) running.abort();
  const ctl = new AbortController();
  running = ctl;
  const status = $("q-status");
  const acks = $("q-acks");
  const responses = $("q-responses");
  clear(acks);
  clear(responses);
  let nAck = 0;
  let nResp = 0;
  const counts = () => {
    $("q-ack-count").textContent = "(" + nAck + ")";
    $("q-resp-count").textContent = "(" + nResp + ")";
  };
  counts();
  const q = new URLSearchParams();
  for (const n of list("q-nodes")) q.append("node", n);
  for (const t of list("q-tags")) q.append("tag", t);
  const timeout = $("q-timeout").value.trim();
  if (timeout) q.set("timeout", timeout);
  const name = $("q-name").value;
  status.className = "";
  status.textContent = "Query " + name + " under way…";
  try {
    let done = false;
    await stream(
      "POST",
      "/v1/query/" + encodeURIComponent(name) + "?" + q.toString(),
      $("q-payload").value,
      (rec) => {
        if (rec.Type === "ack") {
          nAck++;
          acks.append(el("li", { "data-from": rec.From }, rec.From));
        } else if (rec.Type === "response") {
          nResp++;
          // Handler output usually ends in a newline: one is dropped,
          // as `serf query` does, so that each response reads as a line.
          responses.append(el("li", { "data-from": rec.From }, el("span", { class: "from" }, rec.From), ": ", payloadNode(rec.Payload, true)));
        } else if (rec.Type === "done") {
          done = true;
        }
        counts();
      },
      { signal: ctl.signal },
    );
    status.textContent = (done ? "Query done: " : "Query ended: ") + nAck + " acks, " + nResp + " responses.";
  } catch (err) {
    if (ctl.signal.aborted || onAuth(err)) return;
    status.className = "error";
    status.textContent = "Query failed: " + err.message;
  } finally {
    if (running === ctl) running = null;
  }
}
