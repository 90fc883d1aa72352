// The web UI's entry point: asks for the token when the agent wants one,
// routes between the pages (#members, #events, ...), keeps the event
// stream open and refreshes the members and coordinates.

import { $ } from "./dom.js";
import { AuthError, get, getToken, setToken, stream } from "./api.js";
import { state, onChange, setMembers, setCoords, memberEvent } from "./state.js";
import * as members from "./members.js";
import * as events from "./events.js";
import * as send from "./send.js";
import * as network from "./network.js";
import * as keys from "./keys.js";

// refreshEvery is how often the members and coordinates are reloaded
// while the tab is visible: member changes come on the event stream
// (this catches what a broken stream missed); coordinates only this way.
const refreshEvery = 10000;
// watchEvery is how often, while the tab is visible, the agent's member
// counts and clock are read. The agent coalesces member events, as Serf
// does, so they reach the event stream a second or more after the agent
// learnt them; a change in those figures reloads the members at once.
// The reply is small whatever the cluster's size.
const watchEvery = 500;
const pages = ["members", "events", "send", "network", "keys"];

let authed = false;
let needToken = false; // the agent answered 401: the prompt is shown
let session = null; // the AbortController of the signed-in session
let timer = 0;
let watchTimer = 0;
let lastFigures = ""; // the member figures watch saw last

/**
 * onAuth handles a failed request: a 401 ends the session and asks for
 * the token again, and onAuth returns true; other errors return false.
 */
function onAuth(err) {
  if (!(err instanceof AuthError)) return false;
  signOut(getToken() ? "The agent refused the token: " + err.message : "");
  return true;
}

function signOut(msg) {
  authed = false;
  needToken = true;
  if (session) session.abort();
  session = null;
  clearInterval(timer);
  clearInterval(watchTimer);
  setToken("");
  const errNode = $("token-error");
  errNode.textContent = msg;
  errNode.hidden = !msg;
  route();
  $("token-input").focus();
}

function setConn(ok, text) {
  const c = $("conn");
  c.className = "conn " + (ok ? "ok" : "bad");
  c.textContent = text;
}

// start signs in: GET /v1/agent tells whether the token (if any) is
// good, who this agent is and whether gossip is encrypted.
async function start() {
  let info;
  try {
    info = await get("/v1/agent");
  } catch (err) {
    if (err instanceof AuthError) {
      signOut(getToken() ? "Wrong token: the agent refused it." : "");
      setConn(false, "Token required");
      return;
    }
    setConn(false, "Agent unreachable: " + err.message);
    setTimeout(start, 3000);
    return;
  }
  authed = true;
  needToken = false;
  session = new AbortController();
  state.self = info.Member.Name;
  state.encrypted = info.Stats && info.Stats.serf && info.Stats.serf.encrypted === "true";
  $("agent-name").textContent = state.self;
  document.title = "Serf: " + state.self;
  $("nav-keys").hidden = !state.encrypted;
  route();
  follow(session.signal);
  timer = setInterval(() => {
    if (document.visibilityState === "visible") refresh();
  }, refreshEvery);
  watchTimer = setInterval(() => {
    if (document.visibilityState === "visible") watch();
  }, watchEvery);
}

// watch reloads the members when the agent's counts of members, failed
// and left members, or its member clock, have changed since it last
// looked.
async function watch() {
  const signal = session && session.signal;
  try {
    const info = await get("/v1/agent", signal);
    const s = (info.Stats && info.Stats.serf) || {};
    const figures = [s.members, s.failed, s.left, s.member_time].join(" ");
    if (figures !== lastFigures) {
      lastFigures = figures;
      refresh();
    }
  } catch (err) {
    if (signal && signal.aborted) return;
    onAuth(err);
  }
}

// refresh reloads the members and the coordinates.
async function refresh() {
  const signal = session && session.signal;
  try {
    const [ms, cs] = await Promise.all([get("/v1/members", signal), get("/v1/coordinates", signal).catch(noCoords)]);
    setMembers(ms.Members || []);
    setCoords(cs.Coordinates || []);
  } catch (err) {
    if (signal && signal.aborted) return;
    if (!onAuth(err)) setConn(false, "Refresh failed: " + err.message);
  }
}

// noCoords makes an agent without coordinates (404) an empty set.
function noCoords(err) {
  if (err.status === 404) return { Coordinates: [] };
  throw err;
}

// follow keeps GET /v1/events open for the session, reopening it after
// a failure with a growing pause, and reloading the members each time it
// opens, so that nothing between two streams is missed.
async function follow(signal) {
  let pause = 1000;
  while (!signal.aborted) {
    try {
      await stream("GET", "/v1/events", undefined, onEvent, {
        signal,
        onOpen: () => {
          pause = 1000;
          setConn(true, "Live");
          refresh();
        },
      });
    } catch (err) {
      if (signal.aborted || onAuth(err)) return;
    }
    if (signal.aborted) return;
    setConn(false, "Reconnecting…");
    await new Promise((r) => setTimeout(r, pause));
    pause = Math.min(pause * 2, 10000);
  }
}

function onEvent(rec) {
  if (rec.Event && rec.Event.startsWith("member-")) memberEvent(rec);
  events.add(rec);
}

// route shows the page the location's hash names.
function route() {
  const want = location.hash.replace(/^#/, "");
  let page = pages.includes(want) ? want : "members";
  if (page === "keys" && !state.encrypted) page = "members";
  $("token-page").hidden = !needToken;
  for (const p of pages) $("page-" + p).hidden = !authed || p !== page;
  for (const a of document.querySelectorAll("nav a[data-page]")) {
    if (a.dataset.page === page) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (!authed) return;
  if (page === "network") network.render();
  if (page === "keys") keys.load(onAuth);
}

function init() {
  members.init(refresh);
  events.init();
  send.init(onAuth);
  keys.init(onAuth);
  onChange(() => {
    members.render();
    if (!$("page-network").hidden) network.render();
  });
  window.addEventListener("hashchange", () => {
    route();
    $("main").focus();
  });
  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    setToken($("token-input").value);
    $("token-input").value = "";
    start();
  });
  members.render();
  route();
  start();
}

init();
