// Package netem delays, and optionally drops, the packets of a test network
// on a Linux kernel that has no netem qdisc.
//
// The packets to slow down are handed to this process by the kernel's
// NFQUEUE target, set up by the caller inside the network namespace that
// sends them, for example
//
//	iptables -A OUTPUT -o veth0 -j NFQUEUE --queue-num 3 --queue-bypass
//
// Start binds queue 3 over an nfnetlink_queue socket and gives each queued
// packet its verdict after the configured delay, plus or minus a uniform
// jitter: NF_ACCEPT, or NF_DROP with the configured loss probability. The
// queue copies only each packet's metadata to this process, never its
// bytes, so a verdict costs one small netlink message.
//
// # Namespaces
//
// A netlink socket belongs to the network namespace of the thread that
// opened it. Start opens and binds its socket on the calling goroutine's
// current OS thread, so a caller that wants a queue in another namespace
// switches that thread first; InNetns does exactly that:
//
//	var q *netem.Queue
//	err := netem.InNetns("host1", func() error {
//		var err error
//		q, err = netem.Start(netem.Config{Queue: 3, Delay: 100 * time.Millisecond})
//		return err
//	})
//
// Once Start returns, nothing depends on the thread any more.
//
// # Concurrency
//
// A Queue runs two goroutines: a reader that takes packets off the socket
// and schedules their verdicts in a timer heap, and a writer that sends the
// verdicts that are due, several to a write. Verdicts never wait for one
// another: a packet due in 5 ms overtakes one due in 100 ms, as on a real
// network with jitter. SetDelay, SetLoss and Stats never block and are safe
// from any goroutine; they affect packets read after the call. Close stops
// both goroutines and waits for them.
//
// # Differences from netem
//
// A held packet still counts against its sending socket's send buffer
// (netem orphans the packets it holds; NFQUEUE does not), so one socket
// can have only about SO_SNDBUF / 1 KiB packets in flight: some 200 with
// the default buffer, or 2000 a second through a 100 ms delay. Past that
// its writes block, as on a congested link. The kernel holds at most
// 65536 packets for a queue and drops what comes past them.
//
// # What it is not
//
// It is for tests only: no rate limiting, no reordering beyond what
// jitter gives, no duplication or corruption. It needs root (CAP_NET_ADMIN)
// and, for the rule, iptables with the NFQUEUE target; nftables' own
// queue statement would do as well on a kernel that has it.
package netem
