// Building DOM nodes without markup: every piece of text, whatever it
// holds, goes in through textContent or an attribute, never as markup,
// so a tag or payload is never read as HTML.

/**
 * el makes an element: el("td", {class: "x", "data-name": n}, "text", child).
 * Strings among the children become text nodes; null and false are skipped.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  append(node, children);
  return node;
}

/** svg makes an SVG element the way el makes an HTML one. */
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  setAttrs(node, attrs);
  append(node, children);
  return node;
}

function setAttrs(node, attrs) {
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== null && v !== undefined && v !== false) {
      node.setAttribute(k, String(v));
    }
  }
}

function append(node, children) {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** clear removes every child of node. */
export function clear(node) {
  node.replaceChildren();
}

/** $ is document.getElementById. */
export function $(id) {
  return document.getElementById(id);
}

/** showError shows msg in the element id, or hides it when msg is empty. */
export function showError(id, msg) {
  const node = $(id);
  node.textContent = msg || "";
  node.hidden = !msg;
}

/**
 * payloadText shows a payload (base64, as the API sends bytes) as text
 * when it is printable UTF-8, else as hex; it returns the text and
 * whether it is hex. With trimNewline one trailing newline of a text
 * payload is dropped.
 */
export function payloadText(b64, trimNewline = false) {
  if (!b64) return { text: "", hex: false };
  const bin = atob(b64);
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    // Control characters other than tab and line breaks make it binary.
    if (!/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text)) {
      return { text: trimNewline && text.endsWith("\n") ? text.slice(0, -1) : text, hex: false };
    }
  } catch {
    // not UTF-8: shown as hex
  }
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
  return { text: hex, hex: true };
}

/**
 * payloadNode is a payload as a <code> element, hex marked as such;
 * trimNewline as for payloadText.
 */
export function payloadNode(b64, trimNewline = false) {
  const p = payloadText(b64, trimNewline);
  if (p.text === "") return el("span", { class: "payload muted" }, "(no payload)");
  return el("code", { class: p.hex ? "payload hex" : "payload", title: p.hex ? "binary, shown as hex" : null }, p.text);
}

/** formatMs prints a round trip in milliseconds. */
export function formatMs(ms) {
  if (ms === null || ms === undefined || !isFinite(ms)) return "–";
  if (ms < 1) return ms.toFixed(3) + " ms";
  if (ms < 100) return ms.toFixed(2) + " ms";
  return ms.toFixed(0) + " ms";
}
