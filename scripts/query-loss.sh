#!/usr/bin/env bash
# query-loss.sh: how often a query misses a member of a small cluster.
#
# Starts six agents of the given binary on 127.0.<net>.1-6 (lan profile),
# sends <count> acked queries from each agent in turn, and counts the
# queries that fewer than six members acked. docs/compatibility.md quotes
# its results for real Serf and for ours.
#
#   scripts/query-loss.sh ./bin/serf 200
#   scripts/query-loss.sh .cache/oracle/v0.11.0/serf 200 211
set -euo pipefail

if [[ $# -lt 2 ]]; then
	echo "usage: $0 <serf binary> <count> [net, default 210]" >&2
	exit 2
fi
bin=$(realpath "$1")
count=$2
net=${3:-210}
nodes=6

dir=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT

for i in $(seq 1 $nodes); do
	args=(-node="n$i" -bind="127.0.$net.$i:7946" -rpc-addr="127.0.$net.$i:7373" -log-level=warn)
	if [[ $i -gt 1 ]]; then
		args+=(-join="127.0.$net.1:7946")
	fi
	"$bin" agent "${args[@]}" >"$dir/agent$i.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 1 50); do
		"$bin" info -rpc-addr="127.0.$net.$i:7373" >/dev/null 2>&1 && break
		sleep 0.1
	done
done

for _ in $(seq 1 100); do
	alive=$("$bin" members -rpc-addr="127.0.$net.1:7373" -status=alive 2>/dev/null | wc -l)
	[[ $alive -eq $nodes ]] && break
	sleep 0.1
done
if [[ $alive -ne $nodes ]]; then
	echo "only $alive of $nodes agents joined" >&2
	exit 1
fi

missed=0
for q in $(seq 1 "$count"); do
	from=$(((q % nodes) + 1))
	out=$("$bin" query -rpc-addr="127.0.$net.$from:7373" -timeout=1s "probe$q")
	acks=$(grep -c "^Ack from" <<<"$out" || true)
	if [[ $acks -ne $nodes ]]; then
		missed=$((missed + 1))
		echo "query $q from n$from: $acks of $nodes acks"
	fi
done
echo "$missed of $count queries missed a member ($1)"
