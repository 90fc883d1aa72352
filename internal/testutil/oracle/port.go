package oracle

import (
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"testing"
)

// given holds every "ip:port" FreePorts has returned in this process. A
// port is free again once FreePorts releases it, and a later draw could
// pick it (a bind address, then an RPC address); FreePorts never returns
// a port twice.
var given sync.Map

// Ports are drawn at random below Linux's default ephemeral range
// (32768-60999), from which the kernel picks the port of every listen on
// port 0 and of every outgoing connection. Drawn from that range, a port
// just released here was once taken by another test process before the
// real Serf agent it was meant for could bind it ("address already in
// use"); below it, only another draw like this one can take it.
const (
	portLow  = 20000
	portHigh = 32767
)

// FreePorts returns n distinct ports on ip that were free for both TCP and
// UDP a moment ago, as a Serf bind address needs both, and that no earlier
// call in this process returned. The ports are released before FreePorts
// returns, so another process could take one; drawn at random outside the
// kernel's ephemeral range, on loopback addresses used only by tests, that
// is rare enough.
func FreePorts(tb testing.TB, ip string, n int) []int {
	tb.Helper()
	const maxTries = 50
	var (
		ports   []int
		closers []func() error
		lastErr error // why the last draw could not be listened on
	)
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	for try := 0; len(ports) < n; try++ {
		if try == maxTries {
			tb.Fatalf("no port free for both TCP and UDP on %s after %d tries (last: %v)", ip, maxTries, lastErr)
		}
		port := portLow + rand.IntN(portHigh-portLow+1)
		l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err != nil {
			lastErr = err
			continue // taken: draw another
		}
		closers = append(closers, l.Close)
		// Both sockets stay open until the end, so that a later draw of
		// the same port fails to listen and draws again.
		pc, err := net.ListenPacket("udp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err != nil {
			lastErr = err
			continue
		}
		closers = append(closers, pc.Close)
		if _, dup := given.LoadOrStore(net.JoinHostPort(ip, strconv.Itoa(port)), true); dup {
			continue // returned by an earlier call
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
