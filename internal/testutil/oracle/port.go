package oracle

import (
	"net"
	"strconv"
	"testing"
)

// FreePorts returns n distinct ports on ip that were free for both TCP and
// UDP a moment ago, as a Serf bind address needs both. The ports are
// released before FreePorts returns, so another process could take one;
// on loopback addresses used only by tests that is rare enough.
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
