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

// TestFreePortsBelowEphemeral: the ports come from below the kernel's
// ephemeral range, are distinct, and can be bound for TCP and UDP.
func TestFreePortsBelowEphemeral(t *testing.T) {
	ports := FreePorts(t, "127.0.0.1", 20)
	seen := map[int]bool{}
	for _, p := range ports {
		if p < portLow || p > portHigh {
			t.Errorf("port %d outside %d-%d", p, portLow, portHigh)
		}
		if seen[p] {
			t.Errorf("port %d returned twice", p)
		}
		seen[p] = true
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("listen tcp %s: %v", addr, err)
		}
		l.Close()
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			t.Fatalf("listen udp %s: %v", addr, err)
		}
		pc.Close()
	}
}
