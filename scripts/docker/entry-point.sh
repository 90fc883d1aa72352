#!/bin/sh
# Runs `serf agent` in the background, then the container's command. When
# the command ends (or the container is stopped) the agent gets SIGINT and
# leaves the cluster gracefully, so peers see the node as left rather than
# failed. Agent output goes to /var/log/serf.log.
set -e

SERF_AGENT_OPT="${SERF_AGENT_OPT:--discover=container01}"
SERF_LOG="${SERF_LOG:-/var/log/serf.log}"

mkdir -p "$(dirname "$SERF_LOG")"
# shellcheck disable=SC2086 # the options are word-split on purpose
"${SERF_BIN:-/usr/local/bin/serf}" agent $SERF_AGENT_OPT >"$SERF_LOG" 2>&1 &
SERF_PID=$!

leave() {
	if kill -0 "$SERF_PID" 2>/dev/null; then
		kill -INT "$SERF_PID"
		# Wait for the graceful leave (at most a few seconds).
		wait "$SERF_PID" || true
	fi
}
trap 'leave; exit 143' TERM
trap 'leave; exit 130' INT

status=0
"$@" || status=$?
leave
exit "$status"
