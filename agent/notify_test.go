package agent

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openserf/serf/client"
	"github.com/openserf/serf/internal/testutil/wait"
	"github.com/openserf/serf/serf"
)

// notifyTimeout bounds the wait for a datagram the agent should send.
const notifyTimeout = 10 * time.Second

// notifySentinel is what a test sends to its own socket to learn that
// every datagram sent before has been read: a datagram socket keeps the
// order in which they arrive.
const notifySentinel = "TEST-SENTINEL=1"

// fakeSystemd is the receiving end of NOTIFY_SOCKET: a unixgram socket in
// a temporary directory, read by a goroutine the test owns.
type fakeSystemd struct {
	path string
	ch   chan string

	lock   sync.Mutex
	status string // the last STATUS= value read
}

// listenNotify makes a fake systemd socket. With setEnv, NOTIFY_SOCKET
// names it for the test's duration; without, NOTIFY_SOCKET is unset. The
// watchdog variables are cleared either way.
func listenNotify(t *testing.T, setEnv bool) *fakeSystemd {
	t.Helper()
	// A short directory: a socket path has room for about 100 bytes.
	dir, err := os.MkdirTemp("", "notify")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeSystemd{path: path, ch: make(chan string, 1024)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(f.ch)
		buf := make([]byte, 4096)
		for {
			n, _, err := conn.ReadFromUnix(buf)
			if err != nil {
				return
			}
			msg := string(buf[:n])
			if s, ok := strings.CutPrefix(msg, "STATUS="); ok {
				f.lock.Lock()
				f.status = s
				f.lock.Unlock()
			}
			f.ch <- msg
		}
	}()
	t.Cleanup(func() {
		conn.Close()
		<-done
	})
	if setEnv {
		t.Setenv("NOTIFY_SOCKET", path)
	} else {
		t.Setenv("NOTIFY_SOCKET", "")
		os.Unsetenv("NOTIFY_SOCKET")
	}
	t.Setenv("WATCHDOG_USEC", "")
	t.Setenv("WATCHDOG_PID", "")
	return f
}

// expect reads the next datagrams that are not STATUS= lines and wants
// them to be want, in order; wantPrefix entries end with "*" and match a
// datagram that starts with the rest.
func (f *fakeSystemd) expect(t *testing.T, want ...string) {
	t.Helper()
	timer := time.NewTimer(notifyTimeout)
	defer timer.Stop()
	for i := 0; i < len(want); {
		select {
		case msg, ok := <-f.ch:
			if !ok {
				t.Fatalf("notify socket closed, want %q", want[i:])
			}
			if strings.HasPrefix(msg, "STATUS=") {
				continue
			}
			if !matchDatagram(msg, want[i]) {
				t.Fatalf("datagram %d = %q, want %q (all wanted: %q)", i, msg, want[i], want)
			}
			i++
		case <-timer.C:
			t.Fatalf("no datagram after %v, want %q", notifyTimeout, want[i:])
		}
	}
}

// next returns the next datagram that starts with prefix, skipping the
// others.
func (f *fakeSystemd) next(t *testing.T, prefix string) string {
	t.Helper()
	timer := time.NewTimer(notifyTimeout)
	defer timer.Stop()
	for {
		select {
		case msg, ok := <-f.ch:
			if !ok {
				t.Fatalf("notify socket closed, want %s...", prefix)
			}
			if strings.HasPrefix(msg, prefix) {
				return msg
			}
		case <-timer.C:
			t.Fatalf("no datagram %s... after %v", prefix, notifyTimeout)
		}
	}
}

func matchDatagram(msg, want string) bool {
	if prefix, ok := strings.CutSuffix(want, "*"); ok {
		return strings.HasPrefix(msg, prefix)
	}
	return msg == want
}

// expectNoMore sends the sentinel and wants nothing (but STATUS= lines,
// with status) to have arrived before it: every datagram the agent sent
// is in the socket by the time Shutdown has returned.
func (f *fakeSystemd) expectNoMore(t *testing.T, status bool) {
	t.Helper()
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: f.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Write([]byte(notifySentinel))
	c.Close()
	if err != nil {
		t.Fatal(err)
	}
	timer := time.NewTimer(notifyTimeout)
	defer timer.Stop()
	for {
		select {
		case msg := <-f.ch:
			if msg == notifySentinel {
				return
			}
			if !status || !strings.HasPrefix(msg, "STATUS=") {
				t.Fatalf("datagram %q after the last one wanted", msg)
			}
		case <-timer.C:
			t.Fatal("the sentinel datagram did not arrive")
		}
	}
}

// waitStatus waits until the last STATUS= line read is want.
func (f *fakeSystemd) waitStatus(t *testing.T, want string) {
	t.Helper()
	wait.For(t, notifyTimeout, func() error {
		f.lock.Lock()
		defer f.lock.Unlock()
		if f.status != want {
			return fmt.Errorf("STATUS=%q, want %q", f.status, want)
		}
		return nil
	})
}

// The agent's life as systemd sees it, in order: nothing while it
// starts, READY=1 once Ready is called (after the RPC answers),
// RELOADING=1 then READY=1 around a reload, STOPPING=1 on leave, and
// nothing more through Shutdown.
func TestNotifyLifecycle(t *testing.T) {
	sd := listenNotify(t, true)
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
	sd.expect(t, "READY=1")
	sd.waitStatus(t, "alive 1 of 1 members; last event member-join")

	next := MergeConfig(nil, conf)
	next.Tags = map[string]string{"role": "web"}
	if err := a.Reload(next); err != nil {
		t.Fatalf("Reload() error: %v", err)
	}
	sd.expect(t, "RELOADING=1*", "READY=1")

	if err := a.Leave(); err != nil {
		t.Fatalf("Leave() error: %v", err)
	}
	sd.expect(t, "STOPPING=1")
	if err := a.Shutdown(); err != nil {
		t.Fatalf("Shutdown() error: %v", err)
	}
	sd.expectNoMore(t, true)
}

// RELOADING=1 comes with MONOTONIC_USEC, the clock systemd reads it by.
func TestNotifyReloadingCarriesMonotonic(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("MONOTONIC_USEC is sent on Linux only")
	}
	sd := listenNotify(t, true)
	conf := daemonConfig(t, "n2", nil)
	a, _ := startDaemon(t, conf)
	before := monotonicUsec()
	if err := a.Reload(MergeConfig(nil, conf)); err != nil {
		t.Fatalf("Reload() error: %v", err)
	}
	got := sd.next(t, "RELOADING=1")
	lines := strings.Split(got, "\n")
	if len(lines) != 2 || lines[0] != "RELOADING=1" || !strings.HasPrefix(lines[1], "MONOTONIC_USEC=") {
		t.Fatalf("reloading datagram = %q, want RELOADING=1 and MONOTONIC_USEC=", got)
	}
	usec, err := strconv.ParseInt(strings.TrimPrefix(lines[1], "MONOTONIC_USEC="), 10, 64)
	was, _ := strconv.ParseInt(before, 10, 64)
	if err != nil || usec < was {
		t.Errorf("MONOTONIC_USEC = %q, want a number no smaller than %d", lines[1], was)
	}
	sd.expect(t, "READY=1")
}

// A Shutdown without a leave (SIGTERM, a failed retry join) still says
// STOPPING=1, once; a leave before it does not make a second one.
func TestNotifyStoppingOnce(t *testing.T) {
	for _, leave := range []bool{false, true} {
		t.Run(fmt.Sprintf("leave=%v", leave), func(t *testing.T) {
			sd := listenNotify(t, true)
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
			sd.expect(t, "READY=1", "STOPPING=1")
			sd.expectNoMore(t, true)
		})
	}
}

// With WATCHDOG_USEC set for this process, the agent pings at half the
// interval while it runs.
func TestNotifyWatchdog(t *testing.T) {
	sd := listenNotify(t, true)
	t.Setenv("WATCHDOG_USEC", "200000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	a, _ := startDaemon(t, daemonConfig(t, "n4", nil))
	sd.expect(t, "WATCHDOG=1", "WATCHDOG=1", "WATCHDOG=1")
	a.Ready()
	// Pings go on beside the state messages.
	sd.next(t, "READY=1")
	sd.next(t, "WATCHDOG=1")
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
			sd := listenNotify(t, true)
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
			sd.expect(t, "READY=1", "STOPPING=1")
			sd.expectNoMore(t, true)
			if tc.log != "" && !strings.Contains(logs.String(), tc.log) {
				t.Errorf("log lacks %q:\n%s", tc.log, logs.String())
			}
		})
	}
}

// Without NOTIFY_SOCKET the agent sends nothing and starts no notifier.
func TestNotifyUnset(t *testing.T) {
	sd := listenNotify(t, false)
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
	sd.expectNoMore(t, false)
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
	sd := listenNotify(t, true)
	a, _ := startDaemon(t, daemonConfig(t, "s1", nil))
	a.Ready()
	sd.waitStatus(t, "alive 1 of 1 members; last event member-join")

	if _, err := a.Join([]string{bConf.BindAddr}, false); err != nil {
		t.Fatalf("Join() error: %v", err)
	}
	sd.waitStatus(t, "alive 2 of 2 members; last event member-join")

	if err := a.UserEvent("deploy\nMAINPID=1", nil, false); err != nil {
		t.Fatalf("UserEvent() error: %v", err)
	}
	sd.waitStatus(t, "alive 2 of 2 members; last event user:deploy?MAINPID=1")

	if err := b.Leave(); err != nil {
		t.Fatalf("Leave() error: %v", err)
	}
	sd.waitStatus(t, "alive 1 of 1 members; last event member-leave")
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
	listenNotify(t, true)
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
