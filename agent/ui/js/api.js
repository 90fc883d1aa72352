// Calls to the agent's HTTP API (docs/http-api.md). The token, when the
// agent wants one, is kept in sessionStorage: for this tab only, gone
// when it closes. Streams are read with fetch and a ReadableStream over
// the NDJSON framing, because EventSource cannot send the Authorization
// header.

const tokenKey = "serf.token";

/** AuthError is a 401: no token, or the wrong one. */
export class AuthError extends Error {}

/** APIError is any other failed request, with the agent's message. */
export class APIError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function getToken() {
  return sessionStorage.getItem(tokenKey) || "";
}

export function setToken(token) {
  if (token) sessionStorage.setItem(tokenKey, token);
  else sessionStorage.removeItem(tokenKey);
}

function headers(extra = {}) {
  const h = { ...extra };
  const token = getToken();
  if (token) h.Authorization = "Bearer " + token;
  return h;
}

async function failure(resp) {
  let msg = resp.status + " " + resp.statusText;
  try {
    const body = await resp.json();
    if (body && body.error) msg = body.error;
  } catch {
    // the body was not JSON: keep the status line
  }
  if (resp.status === 401) return new AuthError(msg);
  return new APIError(resp.status, msg);
}

/** request sends one request and returns its JSON reply. */
export async function request(method, path, body, signal) {
  const resp = await fetch(path, { method, headers: headers(), body, signal, cache: "no-store" });
  if (!resp.ok) throw await failure(resp);
  return resp.json();
}

export const get = (path, signal) => request("GET", path, undefined, signal);

/**
 * stream opens a streaming endpoint and calls onRecord with each JSON
 * record as it arrives; it resolves when the stream ends and rejects
 * when it fails. opts.signal (an AbortSignal) ends it; opts.onOpen is
 * called once the agent has answered, before the first record.
 */
export async function stream(method, path, body, onRecord, opts = {}) {
  const { signal, onOpen } = opts;
  const sep = path.includes("?") ? "&" : "?";
  const resp = await fetch(path + sep + "format=ndjson", {
    method,
    headers: headers({ Accept: "application/x-ndjson" }),
    body,
    signal,
    cache: "no-store",
  });
  if (!resp.ok) throw await failure(resp);
  if (onOpen) onOpen();
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) onRecord(JSON.parse(line));
    }
  }
  if (buf.trim()) onRecord(JSON.parse(buf));
}
