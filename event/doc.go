// Package event runs the agent's event-handler scripts: the programs an
// operator names with -event-handler or event_handlers, run for member
// events, user events and queries.
//
// # Handlers
//
// A handler is written "filter=script". ParseSpec splits it at the first
// "=", splits the filter on ",", and gives one Spec per filter element;
// without "=" the whole text is the script and the filter is "*". The
// filter elements are the event type names member-join, member-leave,
// member-failed, member-update, member-reap, user and query, "*" for
// all, and "user:NAME" or "query:NAME" for one user event or query by
// name. ParseSpecs rejects anything else with Serf's startup error.
//
// # What a script gets
//
// Scripts run as in Serf: "/bin/sh -c <script>" ("cmd /C" on Windows),
// with the agent's environment plus SERF_EVENT, SERF_SELF_NAME,
// SERF_SELF_ROLE, SERF_TAG_<KEY> for each local tag (the key upper-cased,
// every character outside [A-Z0-9_] made "_"), and SERF_USER_EVENT and
// SERF_USER_LTIME for user events or SERF_QUERY_NAME and SERF_QUERY_LTIME
// for queries.
//
// A member event's stdin holds one line per member,
// "NAME\tADDR\tROLE\tTAGS\n", TAGS being "key=value" pairs joined by ","
// and ADDR the IP address without port; a TAB or LF in
// NAME, ROLE or TAGS is written as `\t` or `\n`. Unlike Serf, which
// lists tags in map order, the pairs are sorted by key, so the same
// member always gives the same line; SERF_TAG_ variables are added in
// key order too. A user event's or query's stdin is its payload, with a
// newline added if it has none at the end.
//
// Stdout and stderr go to one buffer that keeps the last 8 KiB (a small
// ring in this package, no dependency). When the script ends the output
// is logged at DEBUG; a failure is logged at ERR and, beyond Serf, the
// output again at WARN, so failures show at the default log level. A
// script still running after RunnerConfig.SlowThreshold (1s) is logged
// as slow. Every run is timed in the agent.invoke.<script> metric.
//
// # Query responses
//
// A query handler that exits 0 with output answers the query with it.
// When several handlers match one query, Serf runs them one after another
// in configuration order and each such output goes to Query.Respond: the
// first is the response, and every later one is refused ("response
// already sent", logged at WARN). The handlers run in parallel here, but
// their outputs go to Respond in configuration order all the same: a
// handler's output waits until every handler before it has finished, so
// the response is always that of the first handler in order that printed
// anything, and the refusals are logged as in Serf. A slow earlier
// handler holds up the response until the query's deadline, after which
// Respond refuses every output ("response is past the deadline"). A
// handler that does not run the query (its queue full, or removed by
// Update) counts as one that printed nothing.
//
// # Concurrency
//
// In Serf the agent runs every matching script in turn on its one event
// loop, so a slow script holds up every later event and every other
// handler. Here a Runner gives each Spec a worker goroutine and a queue
// of its own, RunnerConfig.QueueDepth (128) events long:
//
//   - Runner.Handle never blocks: it appends the event to the queue of
//     each matching handler and returns. An event for a full queue is
//     dropped, logged and counted (Runner.Dropped and the
//     agent.event_handler.dropped metric).
//   - A handler runs its events one at a time, in the order Handle got
//     them. Handlers run in parallel with each other, so a hung script
//     delays only its own handler's events.
//   - Runner.Update replaces the handlers at once (on SIGHUP). An
//     unchanged Spec keeps its handler and queue; a removed handler
//     drops its queue and stops once its current script ends.
//   - Each script runs in a process group of its own (on Unix; elsewhere
//     only the script itself is killed). With RunnerConfig.Timeout set,
//     the group is killed when the script runs longer (Serf has no
//     limit). Nothing else kills a script.
//   - Runner.Shutdown drops queued events and returns once every
//     goroutine of the Runner has exited, without waiting for the
//     scripts still running: they run on to their end, as in Serf, whose
//     agent exits while its event loop waits on a script (deploy and
//     clean-up hooks count on it). Each is logged at INFO; its exit
//     status is not collected and no handler answers a query after it. On Unix the read
//     end of each one's output pipe is kept open, unread, until the
//     process exits, so a script can write to stdout and stderr while the
//     agent lives (up to the pipe's capacity); once the agent has exited
//     its writes fail with EPIPE, and SIGPIPE kills a shell that writes,
//     as in Serf, where the agent reads the pipe until it exits. Its
//     input is cut short at Shutdown: it reads what is in the pipe, then
//     end of file.
//
// A script's run ends when it has exited and its output pipe is closed,
// as in Serf: a process it starts in the background that keeps stdout
// open holds up that handler (only) until it exits, the Timeout passes,
// or the Runner shuts down.
//
// To stop waiting for a script at Shutdown, the Runner watches for its
// exit through a pidfd (Linux 5.3 and later). Elsewhere, or where that
// fails, one goroutine per script waits the blocking way, and a script
// left running at Shutdown keeps that goroutine until it ends.
//
// The package neither logs "Received event" (the agent does, before
// Handle) nor filters Serf's internal queries (the serf library never
// delivers them).
package event
