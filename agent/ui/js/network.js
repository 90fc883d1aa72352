// The Network page: the members placed on a plane from their
// coordinates, and the matrix of predicted round trips as a heat map.

import { $, el, svg, clear, showError } from "./dom.js";
import { state } from "./state.js";
import { matrix, project } from "./coord.js";

const size = 400;
const margin = 40;

/** render redraws the map and the heat map from the state. */
export function render() {
  const nodes = [...state.members.values()]
    .filter((m) => m.Status !== "left" && state.coords.has(m.Name))
    .sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
  showError("net-error", state.coords.size === 0 ? "This agent has no network coordinates (disable_coordinates is set, or none arrived yet)." : "");
  const d = matrix(nodes.map((m) => state.coords.get(m.Name)));
  drawMap(nodes, d);
  drawHeat(nodes, d);
}

function drawMap(nodes, d) {
  const map = $("net-map");
  clear(map);
  const pts = project(d);
  if (pts.length === 0) return;
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  const span = Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys), 1e-9);
  // One scale for both axes, so that distances on the page are true.
  const scale = (size - 2 * margin) / span;
  const cx = (Math.max(...xs) + Math.min(...xs)) / 2;
  const cy = (Math.max(...ys) + Math.min(...ys)) / 2;
  const at = (p) => [size / 2 + (p[0] - cx) * scale, size / 2 + (p[1] - cy) * scale];
  nodes.forEach((m, i) => {
    const [x, y] = at(pts[i]);
    const cls = m.Name === state.self ? "self" : m.Status === "failed" ? "failed" : "";
    map.append(
      svg(
        "g",
        { "data-name": m.Name },
        svg("title", {}, m.Name + " (" + m.Status + ")"),
        svg("circle", { cx: x.toFixed(1), cy: y.toFixed(1), r: 6, class: cls }),
        svg("text", { x: (x + 9).toFixed(1), y: (y + 4).toFixed(1) }, m.Name + (m.Status === "failed" ? " (failed)" : "")),
      ),
    );
  });
  // A scale bar of a round number of milliseconds, about a quarter wide.
  const msPerPx = 1 / scale;
  const target = (size / 4) * msPerPx;
  const bar = niceNumber(target);
  const px = bar / msPerPx;
  const y = size - 12;
  map.append(
    svg("line", { class: "scale", x1: 12, y1: y, x2: (12 + px).toFixed(1), y2: y }),
    svg("text", { x: 12, y: y - 6 }, formatBar(bar)),
  );
}

// niceNumber rounds v down to 1, 2 or 5 times a power of ten.
function niceNumber(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [5, 2, 1]) if (m * p <= v) return m * p;
  return p;
}

function formatBar(ms) {
  return (ms < 1 ? ms.toPrecision(1) : String(ms)) + " ms round trip";
}

function drawHeat(nodes, d) {
  const table = $("heat");
  clear(table);
  if (nodes.length === 0) return;
  const max = Math.max(...d.flat(), 1e-9);
  table.append(el("thead", {}, el("tr", {}, el("th", { scope: "col" }, ""), nodes.map((m) => el("th", { scope: "col" }, m.Name)))));
  const body = el("tbody");
  nodes.forEach((a, i) => {
    body.append(
      el(
        "tr",
        {},
        el("th", { scope: "row" }, a.Name),
        nodes.map((b, j) => {
          if (i === j) return el("td", { class: "self" }, "–");
          const level = Math.min(5, Math.floor((d[i][j] / max) * 6));
          return el("td", { class: "h" + level, title: a.Name + " ↔ " + b.Name }, d[i][j].toFixed(2));
        }),
      ),
    );
  });
  table.append(body);
}
