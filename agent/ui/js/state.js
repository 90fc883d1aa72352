// The cluster as this page knows it: members by name, their coordinates,
// and this agent's name. The event stream and the periodic refresh write
// it; the pages read it and are told to redraw.

export const state = {
  self: "", // this agent's node name
  encrypted: false,
  members: new Map(), // name -> member, as /v1/members gives them
  coords: new Map(), // name -> coordinate, as /v1/coordinates gives them
};

const listeners = new Set();

/** onChange calls f after every change of the state. */
export function onChange(f) {
  listeners.add(f);
}

/** changed tells every listener that the state changed. */
export function changed() {
  for (const f of listeners) f();
}

/** setMembers replaces the member list with a fresh one. */
export function setMembers(list) {
  state.members = new Map(list.map((m) => [m.Name, m]));
  changed();
}

/** setCoords replaces the coordinates with a fresh set. */
export function setCoords(list) {
  state.coords = new Map(list.map((c) => [c.Node, c.Coord]));
  changed();
}

/**
 * memberEvent applies a member event from the stream: each member named
 * in it takes the event's record (reaped ones are removed).
 */
export function memberEvent(rec) {
  for (const m of rec.Members || []) {
    if (rec.Event === "member-reap") state.members.delete(m.Name);
    else state.members.set(m.Name, m);
  }
  changed();
}
