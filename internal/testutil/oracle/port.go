package oracle

import (
	"net"
	"strconv"
	"sync"
	"testing"
)

// given holds every "ip:port" FreePorts has returned in this process. The
// kernel may hand out a port again as soon as it is released, so two
// calls in a row (a bind address, then an RPC address) could get the same
// one; FreePorts never returns a port twice.
var given sync.Map

// FreePorts returns n distinct ports on ip that were free for both TCP and
// UDP a moment ago, as a Serf bind address needs both, and that no earlier
// call in this process returned. The ports are released before FreePorts
// returns, so another process could take one; on loopback addresses used
// only by tests that is rare enough.
func FreePorts(tb testing.TB, ip string, n int) []int {
	tb.Helper()
	const maxTries = 50
	var (
		ports   []int
		closers []func() error
	)
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	for try := 0; len(ports) < n; try++ {
		if try == maxTries {
			tb.Fatalf("no port free for both TCP and UDP on %s after %d tries", ip, maxTries)
		}
		l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			tb.Fatalf("listen tcp on %s: %v", ip, err)
		}
		closers = append(closers, l.Close)
		port := l.Addr().(*net.TCPAddr).Port
		// Keep the UDP socket open too, so later tries get other ports.
		pc, err := net.ListenPacket("udp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err != nil {
			continue
		}
		closers = append(closers, pc.Close)
		if _, dup := given.LoadOrStore(net.JoinHostPort(ip, strconv.Itoa(port)), true); dup {
			continue // both sockets stay open until the end: the next try gets another port
		}
		ports = append(ports, port)
	}
	return ports
}

// FreePort returns one port on ip free for both TCP and UDP. See FreePorts.
func FreePort(tb testing.TB, ip string) int {
	tb.Helper()
	return FreePorts(tb, ip, 1)[0]
}

// FreeAddr returns "ip:port" with a port from FreePort.
func FreeAddr(tb testing.TB, ip string) string {
	tb.Helper()
	return net.JoinHostPort(ip, strconv.Itoa(FreePort(tb, ip)))
}

// FreeAddrs returns n distinct "ip:port" addresses from FreePorts.
func FreeAddrs(tb testing.TB, ip string, n int) []string {
	tb.Helper()
	var addrs []string
	for _, port := range FreePorts(tb, ip, n) {
		addrs = append(addrs, net.JoinHostPort(ip, strconv.Itoa(port)))
	}
	return addrs
}
