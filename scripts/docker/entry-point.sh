#!/bin/sh
# The container's PID 1: runs `serf agent` in the background beside the
# container's command, and makes the agent leave the cluster gracefully
# (SIGINT) when the command ends or the container is stopped (SIGTERM or
# SIGINT), so peers see the node as left rather than failed. The container
# exits with the command's status. Agent output goes to $SERF_LOG
# (/var/log/serf.log), its options come from $SERF_AGENT_OPT (unset:
# -discover=container01; empty: none).
#
# Why the command runs in the background: a shell runs a trap only once
# the foreground command it waits for has finished, so with a foreground
# command `docker stop` (SIGTERM to PID 1) would go unanswered until
# Docker's SIGKILL ends the agent without a leave. `wait`, by contrast,
# returns as soon as a trapped signal arrives.

SERF_AGENT_OPT="${SERF_AGENT_OPT--discover=container01}"
SERF_LOG="${SERF_LOG:-/var/log/serf.log}"

# ignores_sigint tells whether process $1 has SIGINT (signal 2, bit 0x2) in
# its mask of ignored signals.
ignores_sigint() {
	mask=$(sed -n 's/^SigIgn:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null)
	[ -n "$mask" ] && [ $((0x$mask & 2)) -ne 0 ]
}

# forward passes signal $1 on to the command. A command that a shell
# starts in the background begins with SIGINT ignored; such a command gets
# SIGTERM instead, so that it still stops.
forward() {
	sig=$1
	if [ "$sig" = INT ] && ignores_sigint "$cmd_pid"; then
		sig=TERM
	fi
	kill -s "$sig" "$cmd_pid" 2>/dev/null
	forwarded=1
}

# The traps come first, so that a stop at any moment is seen. A signal
# that comes before the command has started is passed on once it has.
caught=
forwarded=
cmd_pid=
on_signal() {
	caught=$1
	[ -z "$cmd_pid" ] || forward "$1"
}
trap 'on_signal TERM' TERM
trap 'on_signal INT' INT

mkdir -p "$(dirname "$SERF_LOG")"
# shellcheck disable=SC2086 # the options are word-split on purpose
"${SERF_BIN:-/usr/local/bin/serf}" agent $SERF_AGENT_OPT >"$SERF_LOG" 2>&1 &
serf_pid=$!

# start_leave sends the agent its one SIGINT (a second one would cut the
# leave short). The agent, too, begins with SIGINT ignored, until it sets
# up its own handler a few milliseconds into its start; a SIGINT sent
# before then would be lost, so wait for that (10 s at most, then
# SIGTERM, which ends an agent that never got that far).
left=
start_leave() {
	[ -z "$left" ] || return 0
	left=1
	tries=100
	while kill -0 "$serf_pid" 2>/dev/null && ignores_sigint "$serf_pid"; do
		tries=$((tries - 1))
		if [ "$tries" -le 0 ]; then
			kill -TERM "$serf_pid" 2>/dev/null
			return 0
		fi
		sleep 0.1
	done
	kill -INT "$serf_pid" 2>/dev/null
}

if [ -n "$caught" ]; then
	# Stopped before the command could start: do not start it.
	case $caught in
	INT) status=130 ;;
	*) status=143 ;;
	esac
else
	# A background command would read /dev/null: hand it our stdin
	# through fd 3, so that `docker run -it IMAGE sh` stays interactive.
	exec 3<&0
	"$@" <&3 3<&- &
	cmd_pid=$!
	exec 3<&-
	if [ -n "$caught" ] && [ -z "$forwarded" ]; then
		forward "$caught"
	fi

	# A trap cuts wait short (128+signal) while the command may still
	# run. Then the agent starts its leave at once, without waiting for
	# the command, and the shell waits again for the command's own
	# status. If the command had ended just before the signal came, wait
	# no longer knows it (127) and the status already read stands. While
	# the shell waits it also reaps any orphan that the kernel hands to
	# PID 1.
	status=0
	wait "$cmd_pid" || status=$?
	while [ -n "$caught" ]; do
		caught=
		start_leave
		again=0
		wait "$cmd_pid" || again=$?
		[ "$again" -eq 127 ] || status=$again
	done
	cmd_pid=
fi

# The agent is gone once kill -0 fails (it has been reaped); wait returns
# early when a trap runs, so it may take more than one.
start_leave
while kill -0 "$serf_pid" 2>/dev/null; do
	wait "$serf_pid"
done
exit "$status"
