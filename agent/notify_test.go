package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/openserf/serf/client"
	"github.com/openserf/serf/internal/testutil/notifytest"
	"github.com/openserf/serf/serf"
)

// The agent's life as systemd sees it, in order: nothing while it
// starts, READY=1 once Ready is called (after the RPC answers),
// RELOADING=1 then READY=1 around a reload, STOPPING=1 on leave, and
// nothing more through Shutdown.
func TestNotifyLifecycle(t *testing.T) {
	sd := notifytest.Listen(t, true)
	conf := daemonConfig(t, "n1", nil)
	a, _ := startDaemon(t, conf)

	c, err := client.NewRPCClient(conf.RPCAddr)
	if err != nil {
		t.Fatalf("NewRPCClient(%s) error: %v", conf.RPCAddr, err)
	}
	_, err = c.Members()
	c.Close()
	if err != nil {
		t.Fatalf("Members() error: %v", err)
	}
	a.Ready()
	sd.Expect(t, "READY=1")
	sd.WaitStatus(t, "alive 1 of 1 members; last event member-join")

	next := MergeConfig(nil, conf)
	next.Tags = map[string]string{"role": "web"}
	if err := a.Reload(next); err != nil {
		t.Fatalf("Reload() error: %v", err)
	}
	sd.Expect(t, "RELOADING=1*", "READY=1")

	if err := a.Leave(); err != nil {
		t.Fatalf("Leave() error: %v", err)
	}
	sd.Expect(t, "STOPPING=1")
	if err := a.Shutdown(); err != nil {
		t.Fatalf("Shutdown() error: %v", err)
	}
	sd.ExpectNoMore(t, true)
}

// RELOADING=1 comes with MONOTONIC_USEC, the clock systemd reads it by.
func TestNotifyReloadingCarriesMonotonic(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("MONOTONIC_USEC is sent on Linux only")
	}
	sd := notifytest.Listen(t, true)
	conf := daemonConfig(t, "n2", nil)
	a, _ := startDaemon(t, conf)
	before := monotonicUsec()
	if err := a.Reload(MergeConfig(nil, conf)); err != nil {
		t.Fatalf("Reload() error: %v", err)
	}
	got := sd.Next(t, "RELOADING=1")
	lines := strings.Split(got, "\n")
	if len(lines) != 2 || lines[0] != "RELOADING=1" || !strings.HasPrefix(lines[1], "MONOTONIC_USEC=") {
		t.Fatalf("reloading datagram = %q, want RELOADING=1 and MONOTONIC_USEC=", got)
	}
	usec, err := strconv.ParseInt(strings.TrimPrefix(lines[1], "MONOTONIC_USEC="), 10, 64)
	was, _ := strconv.ParseInt(before, 10, 64)
	if err != nil || usec < was {
		t.Errorf("MONOTONIC_USEC = %q, want a number no smaller than %d", lines[1], was)
	}
	sd.Expect(t, "READY=1")
}

// A Shutdown without a leave (SIGTERM, a failed retry join) still says
// STOPPING=1, once; a leave before it does not make a second one.
func TestNotifyStoppingOnce(t *testing.T) {
	for _, leave := range []bool{false, true} {
		t.Run(fmt.Sprintf("leave=%v", leave), func(t *testing.T) {
			sd := notifytest.Listen(t, true)
			a, _ := startDaemon(t, daemonConfig(t, "n3", nil))
			a.Ready()
			if leave {
				if err := <-a.GracefulLeave(); err != nil {
					t.Fatalf("GracefulLeave() = %v", err)
				}
			}
			if err := a.Shutdown(); err != nil {
				t.Fatalf("Shutdown() error: %v", err)
			}
			sd.Expect(t, "READY=1", "STOPPING=1")
			sd.ExpectNoMore(t, true)
		})
	}
}

// With WATCHDOG_USEC set for this process, the agent pings at half the
// interval while it runs.
func TestNotifyWatchdog(t *testing.T) {
	sd := notifytest.Listen(t, true)
	t.Setenv("WATCHDOG_USEC", "200000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	a, _ := startDaemon(t, daemonConfig(t, "n4", nil))
	sd.Expect(t, "WATCHDOG=1", "WATCHDOG=1", "WATCHDOG=1")
	a.Ready()
	// Pings go on beside the state messages.
	sd.Next(t, "READY=1")
	sd.Next(t, "WATCHDOG=1")
	if err := a.Shutdown(); err != nil {
		t.Fatalf("Shutdown() error: %v", err)
	}
}

// A watchdog meant for another process (WATCHDOG_PID) is not this one's;
// a WATCHDOG_USEC that is not a number is logged and ignored.
func TestNotifyWatchdogNotOurs(t *testing.T) {
	for _, tc := range []struct{ usec, pid, log string }{
		{"200000", "1", ""},
		{"soon", "", "[WARN] agent: ignoring the systemd watchdog: "},
	} {
		t.Run(tc.usec, func(t *testing.T) {
			sd := notifytest.Listen(t, true)
			t.Setenv("WATCHDOG_USEC", tc.usec)
			t.Setenv("WATCHDOG_PID", tc.pid)
			a, logs := startDaemon(t, daemonConfig(t, "n5", nil))
			if a.notify.watchdog != 0 {
				t.Errorf("watchdog = %v, want none", a.notify.watchdog)
			}
			a.Ready()
			if err := a.Shutdown(); err != nil {
				t.Fatalf("Shutdown() error: %v", err)
			}
			sd.Expect(t, "READY=1", "STOPPING=1")
			sd.ExpectNoMore(t, true)
			if tc.log != "" && !strings.Contains(logs.String(), tc.log) {
				t.Errorf("log lacks %q:\n%s", tc.log, logs.String())
			}
		})
	}
}

// Without NOTIFY_SOCKET the agent sends nothing and starts no notifier.
func TestNotifyUnset(t *testing.T) {
	sd := notifytest.Listen(t, false)
	t.Setenv("WATCHDOG_USEC", "200000")
	conf := daemonConfig(t, "n6", nil)
	a, _ := startDaemon(t, conf)
	if a.notify != nil {
		t.Fatal("agent has a notifier without NOTIFY_SOCKET")
	}
	a.Ready()
	if err := a.Reload(MergeConfig(nil, conf)); err != nil {
		t.Fatalf("Reload() error: %v", err)
	}
	if err := a.Leave(); err != nil {
		t.Fatalf("Leave() error: %v", err)
	}
	if err := a.Shutdown(); err != nil {
		t.Fatalf("Shutdown() error: %v", err)
	}
	sd.ExpectNoMore(t, false)
}

// A socket that is not there costs a warning, once, and nothing else:
// the agent starts, reloads and stops as ever.
func TestNotifySocketMissing(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", filepath.Join(t.TempDir(), "none"))
	conf := daemonConfig(t, "n7", nil)
	a, logs := startDaemon(t, conf)
	a.Ready()
	if err := a.Reload(MergeConfig(nil, conf)); err != nil {
		t.Fatalf("Reload() error: %v", err)
	}
	if err := a.Shutdown(); err != nil {
		t.Fatalf("Shutdown() error: %v", err)
	}
	const warn = "[WARN] agent: failed to notify systemd: "
	if n := strings.Count(logs.String(), warn); n != 1 {
		t.Errorf("log has %q %d times, want once:\n%s", warn, n, logs.String())
	}
}

// STATUS= counts the members alive and names the last event; a name off
// the network cannot add a line of its own.
func TestNotifyStatus(t *testing.T) {
	// The peer first, without NOTIFY_SOCKET: the socket is the first
	// agent's alone.
	t.Setenv("NOTIFY_SOCKET", "")
	bConf := daemonConfig(t, "s2", nil)
	b, _ := startDaemon(t, bConf)
	sd := notifytest.Listen(t, true)
	a, _ := startDaemon(t, daemonConfig(t, "s1", nil))
	a.Ready()
	sd.WaitStatus(t, "alive 1 of 1 members; last event member-join")

	if _, err := a.Join([]string{bConf.BindAddr}, false); err != nil {
		t.Fatalf("Join() error: %v", err)
	}
	sd.WaitStatus(t, "alive 2 of 2 members; last event member-join")

	if err := a.UserEvent("deploy\nMAINPID=1", nil, false); err != nil {
		t.Fatalf("UserEvent() error: %v", err)
	}
	sd.WaitStatus(t, "alive 2 of 2 members; last event user:deploy?MAINPID=1")

	if err := b.Leave(); err != nil {
		t.Fatalf("Leave() error: %v", err)
	}
	sd.WaitStatus(t, "alive 1 of 1 members; last event member-leave")
}

func TestStatusEventName(t *testing.T) {
	long := strings.Repeat("é", 40) // 80 bytes
	for _, tc := range []struct {
		e    serf.Event
		want string
	}{
		{serf.MemberEvent{Type: serf.EventMemberFailed}, "member-failed"},
		{serf.UserEvent{Name: "deploy"}, "user:deploy"},
		{&serf.Query{Name: "load"}, "query:load"},
		{serf.UserEvent{Name: "a\r\nb\x7f"}, "user:a??b?"},
		{serf.UserEvent{Name: long}, "user:" + strings.Repeat("é", 29) + "..."},
	} {
		if got := statusEventName(tc.e); got != tc.want {
			t.Errorf("statusEventName(%v) = %q, want %q", tc.e, got, tc.want)
		}
	}
}

// HandleEvent never waits for a send: with the notifier's goroutine not
// running at all, a burst of events returns at once and leaves one
// STATUS= due.
func TestNotifyHandleEventNeverBlocks(t *testing.T) {
	notifytest.Listen(t, true)
	n := newNotifier(nil, func(string) string { return "" }, func() bool { return true })
	for range 10000 {
		n.HandleEvent(serf.MemberEvent{Type: serf.EventMemberJoin})
	}
	if !n.statusDue || len(n.queue) != 0 || n.lastEvent != "member-join" {
		t.Errorf("after a burst: statusDue=%v queue=%q lastEvent=%q, want one status due", n.statusDue, n.queue, n.lastEvent)
	}
	for range 3 * notifyQueueMax {
		n.reloading()
		n.ready()
	}
	if len(n.queue) != notifyQueueMax || n.queue[len(n.queue)-1] != "READY=1" {
		t.Errorf("queue = %q, want the latest %d", n.queue, notifyQueueMax)
	}
}
