// The Events page: a live feed of what the agent sees on /v1/events,
// newest first, kept to the last maxEntries; filterable by kind.

import { $, el, clear, payloadNode } from "./dom.js";

const maxEntries = 500;

/** init wires the kind filters and the clear button. */
export function init() {
  for (const box of document.querySelectorAll(".f-kind")) {
    box.addEventListener("change", applyFilter);
  }
  $("events-clear").addEventListener("click", () => clear($("feed")));
}

function shown() {
  return new Set([...document.querySelectorAll(".f-kind:checked")].map((b) => b.value));
}

function applyFilter() {
  const kinds = shown();
  for (const li of $("feed").children) {
    li.hidden = !kinds.has(li.dataset.kind);
  }
}

/** add puts one record of the event stream at the top of the feed. */
export function add(rec) {
  const ev = rec.Event || "";
  const kind = ev.startsWith("member-") ? "member" : ev;
  const now = new Date();
  const parts = [
    el("time", { datetime: now.toISOString() }, now.toLocaleTimeString()),
    el("span", { class: "kind" }, ev),
  ];
  if (kind === "member") {
    parts.push(
      el("span", {}, (rec.Members || []).map((m, i) => [i ? ", " : "", el("strong", {}, m.Name), " (" + m.Addr + ", " + m.Status + ")"])),
    );
  } else {
    parts.push(el("strong", { class: "name" }, rec.Name), el("span", { class: "muted" }, " ltime " + rec.LTime));
    if (kind === "user" && rec.Coalesce) parts.push(el("span", { class: "muted" }, ", coalesced"));
    parts.push(payloadNode(rec.Payload));
  }
  const li = el("li", { class: kind + " " + ev, "data-kind": kind, "data-event": ev }, parts);
  li.hidden = !shown().has(kind);
  const feed = $("feed");
  feed.prepend(li);
  while (feed.children.length > maxEntries) feed.lastElementChild.remove();
}
