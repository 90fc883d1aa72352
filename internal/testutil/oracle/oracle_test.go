package oracle

import (
	"net"
	"strconv"
	"testing"
)

func TestFreePorts(t *testing.T) {
	const ip = "127.0.0.1"
	ports := FreePorts(t, ip, 3)
	if len(ports) != 3 {
		t.Fatalf("FreePorts() returned %d ports, want 3", len(ports))
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] {
			t.Errorf("FreePorts() = %v, want distinct ports", ports)
		}
		seen[p] = true
		addr := net.JoinHostPort(ip, strconv.Itoa(p))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("port %d not free for TCP: %v", p, err)
			continue
		}
		l.Close()
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			t.Errorf("port %d not free for UDP: %v", p, err)
			continue
		}
		pc.Close()
	}
}

// TestFreePortsNeverTwice: calls one after the other on one address never
// return a port again, though the kernel may reuse a released one at once.
func TestFreePortsNeverTwice(t *testing.T) {
	const ip = "127.0.0.1"
	seen := map[int]bool{}
	for range 200 {
		p := FreePort(t, ip)
		if seen[p] {
			t.Fatalf("FreePort returned %d twice", p)
		}
		seen[p] = true
	}
	if addrs := FreeAddrs(t, ip, 2); addrs[0] == addrs[1] {
		t.Fatalf("FreeAddrs returned %q twice", addrs[0])
	}
}
