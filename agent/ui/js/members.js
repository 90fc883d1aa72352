// The Members page: every member with its status (text and colour), the
// round trip from this agent, tags and versions; counts per status;
// sorting by any column and filtering by name, status and tag.

import { $, el, clear, formatMs, showError } from "./dom.js";
import { state } from "./state.js";
import { rttMs } from "./coord.js";

const statuses = ["alive", "failed", "leaving", "left"];
const sort = { key: "name", dir: 1 };

/** init wires the page's controls; refresh reloads from the agent. */
export function init(refresh) {
  for (const th of document.querySelectorAll("#members-table th[data-key]")) {
    th.querySelector("button").addEventListener("click", () => {
      const key = th.dataset.key;
      sort.dir = sort.key === key ? -sort.dir : 1;
      sort.key = key;
      render();
    });
  }
  for (const id of ["f-name", "f-status", "f-tag"]) {
    $(id).addEventListener("input", render);
  }
  $("member-filter").addEventListener("submit", (e) => e.preventDefault());
  $("refresh").addEventListener("click", refresh);
}

// rtt is the predicted round trip from this agent to m, in ms.
function rtt(m) {
  return rttMs(state.coords.get(state.self), state.coords.get(m.Name));
}

function tagText(m) {
  return Object.keys(m.Tags || {})
    .sort()
    .map((k) => k + "=" + m.Tags[k]);
}

// sortValue is what a column sorts by.
function sortValue(m, key) {
  switch (key) {
    case "addr":
      return m.Addr + ":" + String(m.Port).padStart(5, "0");
    case "status":
      return statuses.indexOf(m.Status);
    case "rtt":
      return rtt(m) ?? Infinity;
    case "tags":
      return tagText(m).join(",");
    case "proto":
      return m.ProtocolCur * 100 + m.DelegateCur;
    default:
      return m.Name;
  }
}

// filter returns a predicate for the filter fields, or throws with a
// message when a regular expression does not compile.
function filter() {
  const name = $("f-name").value.trim();
  const status = $("f-status").value;
  const tag = $("f-tag").value.trim();
  let nameRe = null;
  let tagKey = "";
  let tagRe = null;
  try {
    if (name) nameRe = new RegExp(name, "i");
    if (tag) {
      const eq = tag.indexOf("=");
      tagKey = eq < 0 ? tag : tag.slice(0, eq);
      if (eq >= 0) tagRe = new RegExp("^(?:" + tag.slice(eq + 1) + ")$");
    }
  } catch (e) {
    throw new Error("Filter: " + e.message);
  }
  return (m) => {
    if (nameRe && !nameRe.test(m.Name)) return false;
    if (status && m.Status !== status) return false;
    if (tagKey) {
      const tags = m.Tags || {};
      if (!(tagKey in tags)) return false;
      if (tagRe && !tagRe.test(tags[tagKey])) return false;
    }
    return true;
  };
}

/** render redraws the counts and the table from the state. */
export function render() {
  const all = [...state.members.values()];
  const counts = $("counts");
  clear(counts);
  counts.append(el("li", {}, el("strong", {}, String(all.length)), "members"));
  for (const s of statuses) {
    const n = all.filter((m) => m.Status === s).length;
    counts.append(el("li", { class: s, "data-status": s }, el("strong", {}, String(n)), s));
  }

  let keep;
  try {
    keep = filter();
    showError("filter-error", "");
  } catch (e) {
    showError("filter-error", e.message);
    keep = () => true;
  }
  const rows = all.filter(keep);
  rows.sort((a, b) => {
    const va = sortValue(a, sort.key);
    const vb = sortValue(b, sort.key);
    const c = va < vb ? -1 : va > vb ? 1 : a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0;
    return c * sort.dir;
  });
  for (const th of document.querySelectorAll("#members-table th[data-key]")) {
    if (th.dataset.key === sort.key) th.setAttribute("aria-sort", sort.dir > 0 ? "ascending" : "descending");
    else th.removeAttribute("aria-sort");
  }

  const body = $("members-body");
  clear(body);
  for (const m of rows) {
    const me = m.Name === state.self;
    body.append(
      el(
        "tr",
        { "data-name": m.Name, "data-status": m.Status },
        el("th", { scope: "row" }, m.Name, me ? el("span", { class: "muted" }, " (this agent)") : null),
        el("td", { class: "mono" }, m.Addr + ":" + m.Port),
        el("td", {}, el("span", { class: "status " + m.Status }, m.Status)),
        el("td", { class: "mono" }, me ? "–" : formatMs(rtt(m))),
        el("td", {}, tagText(m).map((t) => el("span", { class: "tag" }, t))),
        el(
          "td",
          { class: "mono", title: "memberlist " + m.ProtocolMin + "–" + m.ProtocolMax + ", serf " + m.DelegateMin + "–" + m.DelegateMax },
          m.ProtocolCur + " (" + m.ProtocolMin + "–" + m.ProtocolMax + ") / " + m.DelegateCur,
        ),
      ),
    );
  }
  if (rows.length === 0) {
    body.append(el("tr", {}, el("td", { colspan: 6, class: "muted" }, all.length ? "No member matches the filter." : "No members yet.")));
  }
}
