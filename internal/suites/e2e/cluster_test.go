package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestJoin forms clusters of two and three agents with -join, as the
// second seed article does on its second and later nodes.
func TestJoin(t *testing.T) {
	t.Parallel()
	for _, n := range []int{2, 3} {
		t.Run(fmt.Sprintf("%d agents", n), func(t *testing.T) {
			t.Parallel()
			first := startNode(t, "n1")
			nodes := []*agentProc{first}
			want := map[string]string{"n1": "alive"}
			for i := 2; i <= n; i++ {
				name := fmt.Sprintf("n%d", i)
				p := startNode(t, name, "-join="+first.Bind)
				out := p.Output()
				for _, line := range []string{
					"==> Joining cluster...(replay: false)\n",
					"    Join completed. Synced with 1 initial agents\n",
				} {
					if !strings.Contains(out, line) {
						t.Errorf("agent %s output lacks %q:\n%s", name, line, out)
					}
				}
				p.WaitOutput(eventTimeout, fmt.Sprintf("[INFO] agent: joining: [%s] replay: false", first.Bind))
				p.WaitOutput(eventTimeout, "[INFO] agent: joined: 1 nodes")
				nodes = append(nodes, p)
				want[name] = "alive"
			}
			// Each joined n1 directly; between the later ones it is gossip.
			first.WaitMembers(eventTimeout, want)
			for _, p := range nodes[1:] {
				p.WaitStatus(eventTimeout, "n1", "alive")
			}
			for _, p := range nodes {
				ms := p.WaitMembers(convergeTimeout, want)
				for _, m := range ms {
					if want := addrOf(nodes, m.Name); m.Addr != want {
						t.Errorf("%s lists %s at %s, want %s", p.Name, m.Name, m.Addr, want)
					}
				}
			}
			// Every node logs every other's join.
			for _, p := range nodes {
				for _, q := range nodes {
					p.WaitOutput(eventTimeout, fmt.Sprintf("[INFO] serf: EventMemberJoin: %s %s\n", q.Name, q.IP))
				}
			}
		})
	}
}

// addrOf returns the bind address of the node called name.
func addrOf(nodes []*agentProc, name string) string {
	for _, p := range nodes {
		if p.Name == name {
			return p.Bind
		}
	}
	return "?"
}

// TestRetryJoin starts two agents with -retry-join to an agent that is
// not running yet: they warn and retry, then join once it starts.
func TestRetryJoin(t *testing.T) {
	t.Parallel()
	target := newAddrs(t, "n1")
	var joiners []*agentProc
	for _, name := range []string{"n2", "n3"} {
		p := startNode(t, name, "-retry-join="+target.Bind, "-retry-interval=1s")
		joiners = append(joiners, p)
	}
	warn := regexp.MustCompile(`\[WARN\] agent: Join failed: .*\n(?:.*\n)*?, retrying in 1s\n`)
	for _, p := range joiners {
		p.WaitOutput(eventTimeout, "[INFO] agent: Joining cluster...(replay: false)")
		p.WaitMatch(0, eventTimeout, warn)
		if strings.Contains(p.Output(), "Join completed") {
			t.Fatalf("%s joined a cluster that does not exist:\n%s", p.Name, p.Output())
		}
	}

	first := startAgentAt(t, serfBin, target)
	first.WaitRunning()
	want := map[string]string{"n1": "alive", "n2": "alive", "n3": "alive"}
	for _, p := range joiners {
		p.WaitOutput(eventTimeout, "[INFO] agent: Join completed. Synced with 1 initial agents")
	}
	first.WaitMembers(eventTimeout, want)
	for _, p := range joiners {
		p.WaitStatus(eventTimeout, "n1", "alive")
	}
	for _, p := range joiners {
		p.WaitMembers(convergeTimeout, want)
	}
	// Every attempt but the last, successful, one failed and was retried.
	for _, p := range joiners {
		out := p.Output()
		attempts := strings.Count(out, "[INFO] agent: Joining cluster...(replay: false)")
		retries := strings.Count(out, ", retrying in 1s")
		if attempts != retries+1 {
			t.Errorf("%s: %d join attempts after %d failures, want one more:\n%s", p.Name, attempts, retries, out)
		}
	}
}

// TestRetryJoinMaxExits checks that -retry-max=1 gives up after the
// second failed attempt and exits 1.
func TestRetryJoinMaxExits(t *testing.T) {
	t.Parallel()
	nowhere := newAddrs(t, "nobody")
	start := time.Now()
	p := startAgentAt(t, serfBin, newAddrs(t, "n1"),
		"-retry-join="+nowhere.Bind, "-retry-max=1", "-retry-interval=1s")
	if code := p.WaitExit(exitTimeout); code != 1 {
		t.Errorf("exit code = %d, want 1; output:\n%s", code, p.Output())
	}
	out := p.Output()
	const last = "[ERR] agent: maximum retry join attempts made, exiting"
	if !strings.Contains(out, last) {
		t.Errorf("output lacks %q:\n%s", last, out)
	}
	// One retry: two attempts one interval apart.
	if n := strings.Count(out, "[INFO] agent: Joining cluster...(replay: false)"); n != 2 {
		t.Errorf("%d join attempts, want 2:\n%s", n, out)
	}
	if n := strings.Count(out, ", retrying in 1s"); n != 1 {
		t.Errorf("%d retry warnings, want 1:\n%s", n, out)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("agent exited after %v, before its retry interval of 1s", d)
	}
}

// TestJoinFailureExits checks that a -join nobody answers stops the
// agent with exit code 1 before it streams logs.
func TestJoinFailureExits(t *testing.T) {
	t.Parallel()
	nowhere := newAddrs(t, "nobody")
	p := startAgentAt(t, serfBin, newAddrs(t, "n1"), "-join="+nowhere.Bind)
	if code := p.WaitExit(exitTimeout); code != 1 {
		t.Errorf("exit code = %d, want 1; output:\n%s", code, p.Output())
	}
	out := p.Output()
	want := fmt.Sprintf("==> Joining cluster...(replay: false)\n==> 1 error occurred:\n\t* failed to join %s: dial tcp %s: connect: connection refused\n",
		nowhere.Bind, nowhere.Bind)
	if !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	if strings.Contains(out, logMarker) {
		t.Errorf("agent streamed logs after a failed -join:\n%s", out)
	}
}
