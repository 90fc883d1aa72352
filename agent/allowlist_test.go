package agent

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openserf/serf/client"
	"github.com/openserf/serf/internal/testutil/cluster"
	"github.com/openserf/serf/internal/testutil/metricsink"
	"github.com/openserf/serf/internal/testutil/oracle"
	"github.com/openserf/serf/internal/testutil/wait"
)

// dialFrom connects to addr from the loopback address ip and returns what
// the server sends before it closes the connection.
func dialFrom(t *testing.T, ip, addr string) (string, error) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, ip, err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	return string(b), err
}

// A connection from an address in the networks is handed on; one from
// elsewhere is closed before a byte, counted and logged.
func TestAllowListRefusesOthers(t *testing.T) {
	m, sink := metricsink.New(t)
	sc := cluster.Config("allow")
	sc.Metrics = m
	a, logs := startAgentWith(t, sc, Options{})

	ip, allowed, refused := cluster.IP(), cluster.IP(), cluster.IP()
	raw, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := a.allowListed(raw, "rpc_allowed_cidrs", []string{allowed + "/32", "10.0.0.0/8"}, "agent.ipc")
	if err != nil {
		t.Fatalf("allowListed() error: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = io.WriteString(c, "hello "+c.RemoteAddr().(*net.TCPAddr).IP.String())
			c.Close()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
	})

	if got, err := dialFrom(t, allowed, l.Addr().String()); err != nil || got != "hello "+allowed {
		t.Errorf("from %s: read %q, %v; want %q", allowed, got, err, "hello "+allowed)
	}
	if got, err := dialFrom(t, refused, l.Addr().String()); got != "" {
		t.Errorf("from %s: read %q, %v; want nothing", refused, got, err)
	}
	metricsink.WaitCounter(t, 5*time.Second, sink, "test.agent.ipc.refused")
	want := fmt.Sprintf("[DEBUG] agent.ipc: Refused connection from %s:", refused)
	wait.For(t, 5*time.Second, func() error {
		if !strings.Contains(logs.String(), want) {
			return fmt.Errorf("log has no %q", want)
		}
		return nil
	})

	// No networks: the listener itself.
	if got, err := a.allowListed(raw, "rpc_allowed_cidrs", nil, "agent.ipc"); err != nil || got != raw {
		t.Errorf("allowListed(no networks) = %v, %v; want the listener itself", got, err)
	}
}

// rpc_allowed_cidrs and http_allowed_cidrs guard the agent's listeners.
func TestDaemonAllowLists(t *testing.T) {
	for _, tc := range []struct {
		cidr  string
		allow bool
	}{{"127.0.0.0/8", true}, {"10.0.0.0/8", false}} {
		ip := cluster.IP()
		conf := daemonConfig(t, "guarded", func(c *Config) {
			c.HTTPAddr = oracle.FreeAddr(t, ip)
			c.RPCAllowedCIDRs = []string{tc.cidr}
			c.HTTPAllowedCIDRs = []string{tc.cidr}
		})
		a, _ := startDaemon(t, conf)

		rpc, err := client.NewRPCClient(conf.RPCAddr)
		if err == nil {
			rpc.Close()
		}
		if (err == nil) != tc.allow {
			t.Errorf("allowed %s: RPC client error = %v, want success %v", tc.cidr, err, tc.allow)
		}

		resp, err := http.Get("http://" + a.HTTPAddr().String() + "/v1/health/live")
		if err == nil {
			resp.Body.Close()
		}
		if (err == nil) != tc.allow {
			t.Errorf("allowed %s: HTTP GET error = %v, want success %v", tc.cidr, err, tc.allow)
		}
		// A connection closed unread shows as an EOF, a reset, or (when
		// net/http's reader sees the close before its request is out)
		// "server closed idle connection".
		if !tc.allow && err != nil && !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "reset") &&
			!strings.Contains(err.Error(), "closed") {
			t.Errorf("allowed %s: HTTP GET error = %v, want the connection closed", tc.cidr, err)
		}
	}
}
