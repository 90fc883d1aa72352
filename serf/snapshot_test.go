package serf_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openserf/serf/internal/testutil/cluster"
	"github.com/openserf/serf/internal/testutil/wait"
	"github.com/openserf/serf/serf"
)

// restartable returns a config for a node that keeps its address and
// snapshot across restarts.
func restartable(t *testing.T, name, snap string, addr *string, port *int) *serf.Config {
	cfg := cluster.Config(name)
	cfg.SnapshotPath = snap
	if *addr != "" {
		cfg.MemberlistConfig.BindAddr = *addr
		cfg.MemberlistConfig.BindPort = *port
	}
	return cfg
}

func TestSnapshotRejoinWithoutReplay(t *testing.T) {
	c := cluster.New(t, "s", 2, nil)
	c.WaitConverged(t, timeout)
	snap := filepath.Join(t.TempDir(), "snap")

	var addr string
	var port int
	node := cluster.Start(t, restartable(t, "s-snap", snap, &addr, &port))
	ln := node.Serf.LocalMember()
	addr, port = ln.Addr.String(), int(ln.Port)
	if _, err := node.Serf.Join([]string{c.Nodes[0].Addr()}, false); err != nil {
		t.Fatalf("Join() error: %v", err)
	}
	for i := 0; i < 3; i++ {
		if err := c.Nodes[0].Serf.UserEvent("old", []byte{byte(i)}, false); err != nil {
			t.Fatalf("UserEvent() error: %v", err)
		}
	}
	wait.For(t, timeout, func() error {
		if got := len(node.UserEvents()); got != 3 {
			return fmt.Errorf("got %d events, want 3", got)
		}
		return nil
	})
	// Crash: no leave. Shutdown flushes the snapshot.
	node.Shutdown()
	cluster.WaitStatus(t, timeout, c.Nodes, "s-snap", serf.StatusFailed)

	again := cluster.Start(t, restartable(t, "s-snap", snap, &addr, &port))
	// Rejoined with no join address given, through the snapshot.
	cluster.WaitStatus(t, timeout, append(c.Nodes, again), "s-snap", serf.StatusAlive)
	cluster.WaitStatus(t, timeout, []*cluster.Node{again}, c.Nodes[1].Name, serf.StatusAlive)

	// The old events came back in the push/pull state but are not
	// delivered again; a new one is.
	wantOnlyNewEvent(t, c.Nodes[1], again)
	if !strings.Contains(again.Logs.String(), "[INFO] serf: Re-joined to previously known node: ") {
		t.Errorf("no re-join line in the log")
	}
}

func TestSnapshotWithGarbageStillLoads(t *testing.T) {
	dir := t.TempDir()
	snap := filepath.Join(dir, "snap")
	content := "alive: peer one 127.0.0.9:7946\n" +
		"clock: 41\n" +
		"event-clock: 7\n" +
		"query-clock: 3\n" +
		"# a comment\n" +
		"coordinate: 1 2 3\n" +
		"clock: notanumber\n" +
		"bogus line\n" +
		"\x00\x01garbage line\n" +
		"alive: \xff\xfe torn-half-written-li" // no newline: power loss
	if err := os.WriteFile(snap, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := cluster.Config("g")
	cfg.SnapshotPath = snap
	n := cluster.Start(t, cfg)

	stats := n.Serf.Stats()
	// Clocks are restored one past what was recorded.
	if stats["member_time"] != "42" || stats["event_time"] != "8" || stats["query_time"] != "4" {
		t.Errorf("clocks = member %s event %s query %s, want 42 8 4", stats["member_time"], stats["event_time"], stats["query_time"])
	}
	for _, want := range []string{
		"[WARN] serf: Ignoring incomplete last line of snapshot",
		// Unquoted, as Serf prints it.
		"[WARN] serf: Unrecognized snapshot line: bogus line\n",
		"[WARN] serf: Unrecognized snapshot line: \x00\x01garbage line\n",
		"[WARN] serf: Failed to convert clock time:",
		"[INFO] serf: Attempting re-join to previously known node: peer one: 127.0.0.9:7946",
	} {
		wait.For(t, timeout, func() error {
			if !strings.Contains(n.Logs.String(), want) {
				return fmt.Errorf("log lacks %q:\n%s", want, n.Logs.String())
			}
			return nil
		})
	}
	n.Shutdown()

	// The torn tail was cut off, so later lines start on a fresh line.
	data, err := os.ReadFile(snap)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "torn-half") {
		t.Errorf("torn line still in the snapshot:\n%q", data)
	}
	if !strings.HasSuffix(string(data), "\n") {
		t.Errorf("snapshot does not end in a newline: %q", data)
	}
}

func TestSnapshotLeaveForgetsPeers(t *testing.T) {
	for _, rejoin := range []bool{false, true} {
		t.Run(fmt.Sprint("rejoin=", rejoin), func(t *testing.T) {
			c := cluster.New(t, "lv", 2, nil)
			c.WaitConverged(t, timeout)
			snap := filepath.Join(t.TempDir(), "snap")
			cfg := cluster.Config("lv-snap")
			cfg.SnapshotPath = snap
			cfg.RejoinAfterLeave = rejoin
			n := cluster.Start(t, cfg)
			if _, err := n.Serf.Join([]string{c.Nodes[0].Addr()}, false); err != nil {
				t.Fatalf("Join() error: %v", err)
			}
			cluster.WaitStatus(t, timeout, c.Nodes, "lv-snap", serf.StatusAlive)
			if err := n.Serf.Leave(); err != nil {
				t.Fatalf("Leave() error: %v", err)
			}
			n.Shutdown()
			data, _ := os.ReadFile(snap)
			if !strings.Contains(string(data), "\nleave\n") {
				t.Fatalf("snapshot lacks the leave line:\n%s", data)
			}

			cfg = cluster.Config("lv-snap")
			cfg.SnapshotPath = snap
			cfg.RejoinAfterLeave = rejoin
			again := cluster.Start(t, cfg)
			if rejoin {
				wait.For(t, timeout, func() error {
					if !strings.Contains(again.Logs.String(), "Attempting re-join to previously known node: lv") {
						return fmt.Errorf("no re-join attempt in the log")
					}
					return nil
				})
			} else if logs := again.Logs.String(); strings.Contains(logs, "Attempting re-join") {
				// Without previous nodes no re-join goroutine is started.
				t.Errorf("re-join attempted after a leave:\n%s", logs)
			}
			t.Logf("snapshot after leave:\n%s", data)
		})
	}
}
