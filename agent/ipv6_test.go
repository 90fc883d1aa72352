package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/mdns"
	"github.com/openserf/serf/client"
	"github.com/openserf/serf/internal/testutil/cluster"
	"github.com/openserf/serf/internal/testutil/oracle"
	"github.com/openserf/serf/internal/testutil/wait"
)

// ipNet is an interface address as net.Interface.Addrs returns it.
func ipNet(t *testing.T, cidr string) net.Addr {
	t.Helper()
	ip, n, err := net.ParseCIDR(cidr)
	if err != nil {
		t.Fatal(err)
	}
	n.IP = ip
	return n
}

// -iface picks an address of the family the wildcard bind address asks
// for; a specific bind address must be on the interface.
func TestPickInterfaceAddr(t *testing.T) {
	v4 := ipNet(t, "10.99.0.11/24")
	v4LinkLocal := ipNet(t, "169.254.3.4/16")
	v6 := ipNet(t, "fd00:99::11/64")
	v6LinkLocal := ipNet(t, "fe80::1/64")
	dual := []net.Addr{v4LinkLocal, v4, v6LinkLocal, v6}
	tests := []struct {
		name    string
		addrs   []net.Addr
		bind    string
		want    string
		wantErr string
	}{
		{"0.0.0.0 on dual stack takes IPv4", dual, "0.0.0.0", "10.99.0.11", ""},
		{":: on dual stack takes IPv6", dual, "::", "fd00:99::11", ""},
		{"0.0.0.0 on IPv6 only takes IPv6", []net.Addr{v6LinkLocal, v6}, "0.0.0.0", "fd00:99::11", ""},
		{":: on IPv4 only", []net.Addr{v4}, "::", "",
			"Failed to find usable address for interface 'eth1'"},
		{"link-local only", []net.Addr{v4LinkLocal, v6LinkLocal}, "0.0.0.0", "",
			"Failed to find usable address for interface 'eth1'"},
		{"no addresses", nil, "::", "", "Interface 'eth1' has no addresses"},
		{"specific IPv6", dual, "fd00:99::11", "fd00:99::11", ""},
		{"specific IPv6 missing", dual, "fd00:99::12", "",
			"Interface 'eth1' has no 'fd00:99::12' address"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ip, notice, err := pickInterfaceAddr(tc.addrs, "eth1", tc.bind)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("pickInterfaceAddr(%q) = %q, %v, want error %q", tc.bind, ip, err, tc.wantErr)
				}
				return
			}
			if err != nil || ip != tc.want {
				t.Fatalf("pickInterfaceAddr(%q) = %q, %v, want %q", tc.bind, ip, err, tc.want)
			}
			wantNotice := "Using interface 'eth1' address '" + tc.want + "'"
			if tc.bind == tc.want {
				wantNotice = ""
			}
			if notice != wantNotice {
				t.Errorf("notice = %q, want %q", notice, wantNotice)
			}
		})
	}
}

// Bound to "::" without an advertise address, the agent announces a
// unique local address before a global one, and never a link-local,
// loopback or IPv4 one.
func TestAnnouncedIPv6(t *testing.T) {
	lo, v4 := ipNet(t, "::1/128"), ipNet(t, "10.0.0.1/8")
	ll, global := ipNet(t, "fe80::1/64"), ipNet(t, "2001:db8::1/64")
	ula := ipNet(t, "fd00:99::11/64")
	tests := []struct {
		addrs []net.Addr
		want  string
	}{
		{[]net.Addr{lo, v4, ll, global, ula}, "fd00:99::11"},
		{[]net.Addr{lo, v4, ll, global}, "2001:db8::1"},
		{[]net.Addr{lo, v4, ll}, ""},
	}
	for _, tc := range tests {
		if got := announcedIPv6(tc.addrs); got != tc.want {
			t.Errorf("announcedIPv6(%v) = %q, want %q", tc.addrs, got, tc.want)
		}
	}
}

// requireIPv6Loopback skips t where ::1 cannot be listened on, except
// under SERF_INTEROP=1 or SERF_INTEGRATION=1 (CI), where that fails it.
func requireIPv6Loopback(t *testing.T) {
	t.Helper()
	l, err := net.Listen("tcp", "[::1]:0")
	if err == nil {
		l.Close()
		return
	}
	if oracle.Interop() || os.Getenv("SERF_INTEGRATION") == "1" {
		t.Fatalf("IPv6 loopback unusable: %v", err)
	}
	t.Skipf("IPv6 loopback unusable here: %v", err)
}

// Two agents on ::1: gossip, the join address, RPC and HTTP are IPv6,
// with brackets, and the members carry the IPv6 address.
func TestDaemonOnIPv6Loopback(t *testing.T) {
	requireIPv6Loopback(t)
	ipv6 := func(c *Config) {
		c.BindAddr = oracle.FreeAddr(t, "::1")
		c.RPCAddr = oracle.FreeAddr(t, "::1")
	}
	confA := daemonConfig(t, "a", func(c *Config) {
		ipv6(c)
		c.HTTPAddr = oracle.FreeAddr(t, "::1")
	})
	a, _ := startDaemon(t, confA)
	confB := daemonConfig(t, "b", ipv6)
	b, _ := startDaemon(t, confB)
	if got := a.BindAddr().String(); got != confA.BindAddr {
		t.Errorf("BindAddr() = %s, want %s", got, confA.BindAddr)
	}
	if n, err := b.Join([]string{confA.BindAddr}, false); n != 1 || err != nil {
		t.Fatalf("Join(%s) = %d, %v, want 1, nil", confA.BindAddr, n, err)
	}

	c, err := client.NewRPCClient(confA.RPCAddr)
	if err != nil {
		t.Fatalf("NewRPCClient(%s) error: %v", confA.RPCAddr, err)
	}
	defer c.Close()
	wait.For(t, 10*time.Second, func() error {
		ms, err := c.Members()
		if err != nil {
			return err
		}
		var got []string
		for _, m := range ms {
			got = append(got, net.JoinHostPort(m.Addr.String(), strconv.Itoa(int(m.Port))))
		}
		slices.Sort(got)
		want := []string{confA.BindAddr, confB.BindAddr}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			return fmt.Errorf("members at %q, want %q", got, want)
		}
		return nil
	})

	resp, err := http.Get("http://" + a.HTTPAddr().String() + "/v1/members")
	if err != nil {
		t.Fatalf("GET /v1/members on %s: %v", confA.HTTPAddr, err)
	}
	defer resp.Body.Close()
	var got client.MembersResponse
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/members = %s, %v", resp.Status, err)
	}
	for _, m := range got.Members {
		if !m.Addr.Equal(net.IPv6loopback) {
			t.Errorf("GET /v1/members lists %s at %s, want ::1", m.Name, m.Addr)
		}
	}
	if len(got.Members) != 2 {
		t.Errorf("GET /v1/members lists %d members, want 2", len(got.Members))
	}
}

// A peer mDNS finds at an IPv6 address is joined at "[ip]:port".
func TestDiscoveryJoinsIPv6(t *testing.T) {
	joined := make(chan []string, 1)
	d := &Discovery{
		cfg: DiscoveryConfig{
			Logger:  log.New(&cluster.SafeBuffer{}, "", log.LstdFlags),
			Cluster: "test",
			Join: func(addrs []string, _ bool) (int, error) {
				joined <- addrs
				return len(addrs), nil
			},
		},
		server: &fakeResponder{},
	}
	d.query = func(ctx context.Context, found chan<- *mdns.ServiceEntry) {
		select {
		case found <- &mdns.ServiceEntry{Addr: net.ParseIP("fd00:99::11"), Port: 7950}:
		case <-ctx.Done():
		}
	}
	d.start()
	defer d.Shutdown()
	select {
	case got := <-joined:
		if want := []string{"[fd00:99::11]:7950"}; !slices.Equal(got, want) {
			t.Errorf("joined %q, want %q", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the found peer was not joined in 10s")
	}
}

// Bound to "[::]", the gossip setup announces this machine's address
// that announcedIPv6 picks, on the bind port; an advertise address, or
// port 0, leaves it alone.
func TestGossipSetupAnnouncesIPv6(t *testing.T) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	host := announcedIPv6(addrs)
	wantPort := 7950
	if host == "" {
		wantPort = 0
	}
	tests := []struct {
		bind, advertise string
		wantIP          string
		wantPort        int
	}{
		{"[::]:7950", "", host, wantPort},
		{"[::]:7950", "[fd00::5]:7951", "fd00::5", 7951},
		{"[::]:0", "", "", 0},
		{"0.0.0.0:7950", "", "", 0},
	}
	for _, tc := range tests {
		ml := gossipSetupOf(t, &Config{BindAddr: tc.bind, AdvertiseAddr: tc.advertise}).serf.MemberlistConfig
		if ml.AdvertiseAddr != tc.wantIP || ml.AdvertisePort != tc.wantPort {
			t.Errorf("bind %s advertise %q: memberlist advertises %q port %d, want %q port %d",
				tc.bind, tc.advertise, ml.AdvertiseAddr, ml.AdvertisePort, tc.wantIP, tc.wantPort)
		}
	}
}
