#!/usr/bin/env bash
# netlab.sh: a few hosts on one machine, for trying serf by hand the way
# the multi-host suite (internal/suites/multihost) tests it. Each host is a
# network namespace with eth1 at 10.99.0.<10+i> on a bridge that lives in
# a namespace of its own; nothing touches the machine's own network.
# Needs root, iproute2 and nftables (delay also needs iptables and Go).
#
#   scripts/netlab.sh up 5                  # hosts 1..5
#   scripts/netlab.sh agent 1 -iface=eth1 -discover=cluster01
#   scripts/netlab.sh exec 1 serf members   # any command on host 1
#   scripts/netlab.sh kill 3 [SIGNAL]       # default KILL; STOP/CONT pause
#   scripts/netlab.sh isolate 2 | heal 2    # drop all of host 2's traffic
#   scripts/netlab.sh unplug 2 | plug 2     # pull host 2's cable
#   scripts/netlab.sh split 4 5 | merge     # hosts 4 and 5 on a second bridge
#   scripts/netlab.sh loss 2 20             # host 2 drops 20% of what it sends
#   scripts/netlab.sh delay 2 50ms [5ms]    # ... and delays it (0 removes)
#   scripts/netlab.sh status | down
#
# NETLAB_PREFIX (default "nl") starts every namespace name; SERF (default
# serf on PATH, else bin/serf) is the binary "agent" runs. NETLAB_STACK
# at "up" gives eth1 IPv4 only (v4, the default), IPv4 and fd00:99::<10+i>
# (dual), or that IPv6 address alone (v6). Agent logs and PIDs are kept in
# /tmp/netlab-<prefix>/.
set -euo pipefail

prefix="${NETLAB_PREFIX:-nl}"
sw="${prefix}sw"
state="/tmp/netlab-${prefix}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$PATH:/usr/sbin:/sbin"

die() { echo "netlab: $*" >&2; exit 1; }
ns() { echo "${prefix}h$1"; }
port() { echo "${prefix}p$1"; }
ip_of() { echo "10.99.0.$((10 + $1))"; }
ip6_of() { echo "fd00:99::$((10 + $1))"; }
stack() { cat "$state/stack" 2>/dev/null || echo v4; }
need_host() { [[ "${1:-}" =~ ^[0-9]+$ ]] || die "host number expected"; ip netns list | grep -qw "$(ns "$1")" || die "no host $1 (run: $0 up N)"; }

serf_bin() {
	if [[ -n "${SERF:-}" ]]; then echo "$SERF"
	elif command -v serf >/dev/null; then command -v serf
	elif [[ -x "$root/bin/serf" ]]; then echo "$root/bin/serf"
	else die "no serf binary: run make build or set SERF"; fi
}

# Faults live in the switch namespace, on the frames the bridge forwards
# for a host's port: silent drops, as a bad cable or switch would cause.
nft_table() { # host kind [chain]
	local h=$1 t="serf_$2_$1"
	ip netns exec "$sw" nft "add table bridge $t; delete table bridge $t"
	[[ $# -gt 2 ]] && printf "table bridge %s {\n%s\n}\n" "$t" "$3" | ip netns exec "$sw" nft -f -
	return 0
}

cmd_up() {
	local n=${1:?number of hosts}
	local st=${NETLAB_STACK:-v4}
	[[ "$st" =~ ^(v4|dual|v6)$ ]] || die "NETLAB_STACK must be v4, dual or v6, not $st"
	[[ $(id -u) -eq 0 ]] || die "needs root"
	ip netns list | grep -qw "$sw" && die "lab $prefix exists (run: $0 down)"
	mkdir -p "$state"
	echo "$st" >"$state/stack"
	ip netns add "$sw"
	ip -n "$sw" link set lo up
	for br in br0 br1; do
		ip -n "$sw" link add "$br" type bridge stp_state 0 forward_delay 0 mcast_snooping 0
		ip -n "$sw" link set "$br" up
	done
	for ((i = 1; i <= n; i++)); do
		local h
		h=$(ns "$i")
		ip netns add "$h"
		ip netns exec "$h" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
		ip -n "$h" link set lo up
		ip link add eth1 netns "$h" type veth peer name "$(port "$i")" netns "$sw"
		ip -n "$sw" link set "$(port "$i")" master br0 up
		local addrs=()
		[[ "$st" != v6 ]] && addrs+=("$(ip_of "$i")/24")
		[[ "$st" != v4 ]] && addrs+=("$(ip6_of "$i")/64")
		for a in "${addrs[@]}"; do ip -n "$h" addr add "$a" dev eth1 nodad; done
		ip -n "$h" link set eth1 up
		# Without it the IPv4 mDNS socket cannot be opened.
		[[ "$st" != v6 ]] && ip -n "$h" route add 224.0.0.0/4 dev eth1
		echo "host $i: namespace $h, eth1 ${addrs[*]}"
	done
}

cmd_down() {
	for f in "$state"/*.pid; do
		[[ -e "$f" ]] || continue
		kill -CONT "$(cat "$f")" 2>/dev/null || true
		kill -KILL -- "-$(cat "$f")" 2>/dev/null || kill -KILL "$(cat "$f")" 2>/dev/null || true
		rm -f "$f"
	done
	pkill -f "netdelay -queue" 2>/dev/null || true
	for h in $(ip netns list | awk '{print $1}' | grep "^${prefix}" || true); do
		for pid in $(ip netns pids "$h" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
		ip netns del "$h"
	done
	echo "lab $prefix removed (logs stay in $state)"
}

cmd_agent() {
	local i=$1; shift
	need_host "$i"
	local bin log
	bin=$(serf_bin)
	log="$state/h$i.log"
	# Its own hostname (the node name), its own loopback for RPC.
	setsid ip netns exec "$(ns "$i")" unshare --uts sh -c 'hostname "$0" && exec "$@"' "h$i" \
		"$bin" agent "$@" >>"$log" 2>&1 &
	echo $! >"$state/h$i.pid"
	echo "host $i: serf agent pid $! (log $log)"
}

cmd_kill() {
	local i=$1 sig=${2:-KILL}
	[[ -f "$state/h$i.pid" ]] || die "no agent on host $i"
	kill "-$sig" "$(cat "$state/h$i.pid")"
}

cmd_delay() {
	local i=$1 delay=$2 jitter=${3:-0s}
	need_host "$i"
	local h pidf bin
	h=$(ns "$i")
	pidf="$state/delay$i.pid"
	if [[ -f "$pidf" ]]; then
		kill "$(cat "$pidf")" 2>/dev/null || true
		rm -f "$pidf"
		for t in $(delay_tables); do
			ip netns exec "$h" "$t" -D OUTPUT -o eth1 -j NFQUEUE --queue-num "$i" --queue-bypass 2>/dev/null || true
		done
	fi
	[[ "$delay" == 0 || "$delay" == 0s ]] && return 0
	bin="$state/netdelay"
	[[ -x "$bin" ]] || (cd "$root" && CGO_ENABLED=0 go build -o "$bin" ./internal/lab/netns/cmd/netdelay)
	ip netns exec "$h" "$bin" -queue "$i" -delay "$delay" -jitter "$jitter" >>"$state/delay$i.log" 2>&1 &
	echo $! >"$pidf"
	for t in $(delay_tables); do
		ip netns exec "$h" "$t" -A OUTPUT -o eth1 -j NFQUEUE --queue-num "$i" --queue-bypass
	done
}

# delay_tables names the tools whose OUTPUT chains queue delayed packets.
delay_tables() {
	case "$(stack)" in
	v4) echo iptables ;;
	dual) echo iptables ip6tables ;;
	v6) echo ip6tables ;;
	esac
}

cmd_status() {
	ip netns list | grep "^${prefix}" | sort || true
	for f in "$state"/h*.pid; do
		[[ -e "$f" ]] || continue
		local pid
		pid=$(cat "$f")
		if kill -0 "$pid" 2>/dev/null; then
			echo "$(basename "$f" .pid): agent $pid $(awk '/^State:/ {print $2 $3}' "/proc/$pid/status")"
		else
			echo "$(basename "$f" .pid): agent $pid exited"
		fi
	done
}

sub=${1:-}
shift || true
case "$sub" in
up) cmd_up "$@" ;;
down) cmd_down ;;
status) cmd_status ;;
agent) cmd_agent "$@" ;;
exec) need_host "${1:-}"; h=$(ns "$1"); shift; exec ip netns exec "$h" "$@" ;;
kill) cmd_kill "$@" ;;
isolate)
	need_host "${1:-}"
	nft_table "$1" isolate "chain faults { type filter hook forward priority -10; iifname \"$(port "$1")\" drop; oifname \"$(port "$1")\" drop; }" ;;
heal) need_host "${1:-}"; nft_table "$1" isolate ;;
unplug) need_host "${1:-}"; ip -n "$sw" link set "$(port "$1")" down ;;
plug) need_host "${1:-}"; ip -n "$sw" link set "$(port "$1")" up ;;
split) for i in "$@"; do need_host "$i"; ip -n "$sw" link set "$(port "$i")" master br1; done ;;
merge) for p in $(ip -n "$sw" -o link show master br1 | awk -F': ' '{print $2}' | cut -d@ -f1); do ip -n "$sw" link set "$p" master br0; done ;;
loss)
	need_host "${1:-}"
	if [[ "${2:-0}" == 0 ]]; then nft_table "$1" loss; else
		m="numgen random mod 100 < $2"; [[ "$2" == 100 ]] && m=""
		nft_table "$1" loss "chain faults { type filter hook forward priority -20; iifname \"$(port "$1")\" $m drop; }"
	fi ;;
delay) cmd_delay "$@" ;;
*) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
