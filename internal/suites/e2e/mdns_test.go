package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"regexp"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/agentproc"
	"github.com/openserf/serf/internal/testutil/wait"
)

// mdnsClusters numbers the mDNS cluster names of this process: mDNS is
// shared by every process on the host, so each test run and test gets a
// name of its own rather than the seed's plain "cluster01".
var mdnsClusters atomic.Uint32

func mdnsCluster() string {
	return fmt.Sprintf("cluster01-%d-%d", os.Getpid(), mdnsClusters.Add(1))
}

// TestMDNSDiscovery starts two agents with -discover on lo and no -join:
// the second finds the first with mDNS and joins it. IPv6 is disabled for
// mDNS because Linux does not route IPv6 multicast on lo ("sendto: network
// is unreachable", with real Serf too). If IPv4 multicast on lo does not
// work either, which a raw probe tells, the test is skipped.
func TestMDNSDiscovery(t *testing.T) {
	t.Parallel()
	cluster := mdnsCluster()
	flags := []string{"-discover=" + cluster, "-mdns-iface=lo", "-mdns-disable-ipv6"}
	n1 := startNode(t, "n1", flags...)
	n1.WaitOutput(eventTimeout, "[INFO] agent: Starting mDNS listener on interface lo\n")
	// n2 polls as it starts and finds n1; n1 polls again only after a
	// minute, so it learns of n2 through the join.
	n2 := startNode(t, "n2", flags...)

	joined := func() error {
		for _, p := range []*agentProc{n1, n2} {
			ms, err := p.Members()
			if err != nil {
				return err
			}
			if len(ms) != 2 || ms[0].Status != "alive" || ms[1].Status != "alive" {
				return fmt.Errorf("%s: members = %s, want n1 and n2 alive", p.Name, agentproc.FormatMembers(ms))
			}
		}
		return nil
	}
	if err := wait.Until(10*time.Second, joined); err != nil {
		if perr := multicastProbe(); perr != nil {
			t.Skipf("IPv4 multicast on lo does not work here (probe: %v), so mDNS cannot be tested: %v", perr, err)
		}
		t.Fatalf("no mDNS join although multicast on lo works: %v", err)
	}
	n2.WaitMatch(0, eventTimeout, regexp.MustCompile(`\[INFO\] agent\.mdns: Joined \d+ hosts\n`))
	if m := regexp.MustCompile(`\[ERR\] agent\.mdns: .*`).FindString(n2.Output()); m != "" {
		t.Errorf("n2 logged an mDNS error: %s", m)
	}
}

// multicastProbe sends one IPv4 multicast datagram out of lo to a group
// it has joined on lo, and reports whether it came back.
func multicastProbe() error {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		return err
	}
	group := net.IPv4(224, 0, 0, 251)
	in, err := net.ListenMulticastUDP("udp4", lo, &net.UDPAddr{IP: group})
	if err != nil {
		return fmt.Errorf("join group on lo: %w", err)
	}
	defer in.Close()
	port := in.LocalAddr().(*net.UDPAddr).Port

	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInet4Addr(int(fd), syscall.IPPROTO_IP, syscall.IP_MULTICAST_IF, [4]byte{127, 0, 0, 1})
			if serr == nil {
				serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, syscall.IP_MULTICAST_LOOP, 1)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	out, err := lc.ListenPacket(context.Background(), "udp4", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("sender on lo: %w", err)
	}
	defer out.Close()
	const probe = "serf-e2e-probe"
	if _, err := out.WriteTo([]byte(probe), &net.UDPAddr{IP: group, Port: port}); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	buf := make([]byte, 64)
	if err := in.SetReadDeadline(time.Now().Add(2 * time.Second)); err != nil {
		return err
	}
	for {
		n, _, err := in.ReadFrom(buf)
		if err != nil {
			return fmt.Errorf("receive: %w", err)
		}
		if string(buf[:n]) == probe {
			return nil
		}
	}
}
