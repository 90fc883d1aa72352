package netns

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	if Check() == nil && os.Getenv("SERF_INTEGRATION") == "1" {
		if code, ran, err := Sandbox(); ran {
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
			}
			os.Exit(code)
		}
	}
	os.Exit(m.Run())
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Getenv("SERF_INTEGRATION") != "1" {
		t.Skip("network namespace tests run with SERF_INTEGRATION=1 (make integration)")
	}
	if err := Check(); err != nil {
		t.Skip(err)
	}
}

// reachable reports whether from can ping to's address once.
func reachable(from, to *Host) bool {
	_, err := from.Run("ping", "-c", "1", "-W", "1", to.IP)
	return err == nil
}

// threeHosts makes a lab of stack named by prefix, closed when the test
// ends, with three hosts h1, h2 and h3.
func threeHosts(t *testing.T, prefix string, stack Stack) (lab *Lab, a, b, c *Host) {
	t.Helper()
	lab, err := NewStack(prefix, stack)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lab.Close() })
	hosts := make([]*Host, 3)
	for i := range hosts {
		if hosts[i], err = lab.AddHost(""); err != nil {
			t.Fatal(err)
		}
	}
	return lab, hosts[0], hosts[1], hosts[2]
}

func TestLab(t *testing.T) {
	requireRoot(t)
	if _, err := exec.LookPath("ping"); err != nil {
		t.Skip("ping not installed")
	}
	lab, a, b, c := threeHosts(t, "nt", IPv4Only)
	if a.IP != "10.99.0.11" || c.Name != "h3" {
		t.Fatalf("host 1 at %s, host 3 called %s", a.IP, c.Name)
	}
	if !reachable(a, b) || !reachable(a, c) {
		t.Fatal("hosts do not reach one another")
	}
	// Each host sees its own name through HostCommand.
	out, err := c.HostCommand("hostname").Output()
	if err != nil || strings.TrimSpace(string(out)) != "h3" {
		t.Fatalf("hostname on h3: %q, %v", out, err)
	}

	checkFaults(t, lab, a, b, c, reachable)
	checkDelay(t, a, b, b.IP)

	if err := lab.Close(); err != nil {
		t.Fatal(err)
	}
	list, _ := exec.Command("ip", "netns", "list").Output()
	if strings.Contains(string(list), "nt") {
		t.Errorf("namespaces left after Close: %s", list)
	}
}

// checkFaults applies each fault in turn, between hosts a, b and c of
// lab, checks who reaches whom with reach while it lasts, and undoes it.
func checkFaults(t *testing.T, lab *Lab, a, b, c *Host, reach func(from, to *Host) bool) {
	t.Helper()
	steps := []struct {
		name     string
		do, undo func() error
		ab, ac   bool // reachability while done
	}{
		{"isolate", func() error { return b.Isolate() }, b.Heal, false, true},
		{"block", func() error { return a.Block(b) }, a.Heal, false, true},
		{"unplug", c.Unplug, c.Plug, true, false},
		{"split", func() error { return lab.Split(c) }, lab.Merge, true, false},
		{"loss", func() error { return a.SetLoss(100) }, func() error { return a.SetLoss(0) }, false, false},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := reach(a, b); got != s.ab {
			t.Errorf("%s: h1 reaches h2 = %v, want %v", s.name, got, s.ab)
		}
		if got := reach(a, c); got != s.ac {
			t.Errorf("%s: h1 reaches h3 = %v, want %v", s.name, got, s.ac)
		}
		if err := s.undo(); err != nil {
			t.Fatalf("undo %s: %v", s.name, err)
		}
		if !reach(a, b) || !reach(a, c) {
			t.Fatalf("after undoing %s the hosts do not reach one another", s.name)
		}
	}
}

// checkDelay delays a's and b's packets and checks that a ping from a to
// b's address addr crosses two delayed hops.
func checkDelay(t *testing.T, a, b *Host, addr string) {
	t.Helper()
	if _, err := exec.LookPath("iptables"); err != nil {
		return
	}
	for _, h := range []*Host{a, b} {
		if err := h.SetDelay(40*time.Millisecond, 0); err != nil {
			t.Fatal(err)
		}
	}
	out, err := a.Run("ping", "-c", "3", "-i", "0.2", "-q", addr)
	if err != nil {
		t.Fatal(err)
	}
	var min, avg float64
	if i := strings.Index(out, "= "); i < 0 {
		t.Fatalf("ping output: %q", out)
	} else if _, err := fmt.Sscanf(strings.ReplaceAll(out[i+2:], "/", " "), "%f %f", &min, &avg); err != nil {
		t.Fatalf("ping output %q: %v", out, err)
	}
	if min < 75 || avg > 200 {
		t.Errorf("ping with 40 ms each way: min %.1f ms, avg %.1f ms", min, avg)
	}
	if err := a.SetDelay(0, 0); err != nil {
		t.Fatal(err)
	}
}

// reachable6 reports whether from can ping to's IPv6 address once.
func reachable6(from, to *Host) bool {
	_, err := from.Run("ping", "-6", "-c", "1", "-W", "1", to.IP6)
	return err == nil
}

// Dual-stack and IPv6-only hosts reach one another over IPv6, and every
// fault and the delay cover IPv6 as they cover IPv4.
func TestLabIPv6(t *testing.T) {
	requireRoot(t)
	if _, err := exec.LookPath("ping"); err != nil {
		t.Skip("ping not installed")
	}
	for _, tc := range []struct {
		name   string
		stack  Stack
		wantV4 string
	}{
		{"dual", DualStack, "10.99.0.11"},
		{"v6only", IPv6Only, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lab, a, b, c := threeHosts(t, "n6", tc.stack)
			if a.IP != tc.wantV4 || a.IP6 != "fd00:99::11" || c.IP6 != "fd00:99::13" {
				t.Fatalf("host 1 at %q and %q, host 3 at %q", a.IP, a.IP6, c.IP6)
			}
			out, err := a.Run("ip", "-o", "-4", "addr", "show", "dev", Iface)
			if err != nil || (tc.wantV4 == "") != (strings.TrimSpace(out) == "") {
				t.Fatalf("IPv4 addresses of h1's %s: %q, %v; want %q", Iface, out, err, tc.wantV4)
			}
			reach := reachable6
			if tc.stack == DualStack {
				// Both versions must be cut and restored together.
				reach = func(from, to *Host) bool {
					v4, v6 := reachable(from, to), reachable6(from, to)
					if v4 != v6 {
						t.Errorf("%s reaches %s over IPv4 = %v, over IPv6 = %v", from.Name, to.Name, v4, v6)
					}
					return v6
				}
			}
			if !reach(a, b) || !reach(a, c) {
				t.Fatal("hosts do not reach one another")
			}
			checkFaults(t, lab, a, b, c, reach)
			if _, err := exec.LookPath("ip6tables"); err == nil {
				checkDelay(t, a, b, b.IP6)
			}
		})
	}
}
