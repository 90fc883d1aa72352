// Package notifytest is a fake systemd for tests of sd_notify: the
// receiving end of NOTIFY_SOCKET, read by a goroutine the test owns.
package notifytest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/wait"
)

// Timeout bounds each wait for a datagram the process under test should
// send.
const Timeout = 30 * time.Second

// sentinel is what ExpectNoMore sends to its own socket to learn that
// every datagram sent before it has been read: a datagram socket keeps
// the order in which they arrive.
const sentinel = "TEST-SENTINEL=1"

// Systemd is a unixgram socket in a temporary directory and the
// datagrams read from it.
type Systemd struct {
	path   string
	ch     chan string
	status atomic.Pointer[string] // the last STATUS= value read
}

// Listen makes a fake systemd socket, closed when the test ends. With
// setEnv, NOTIFY_SOCKET names it for the test's duration; without,
// NOTIFY_SOCKET is unset. The watchdog variables are cleared either way.
func Listen(t testing.TB, setEnv bool) *Systemd {
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
	s := &Systemd{path: path, ch: make(chan string, 1024)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(s.ch)
		buf := make([]byte, 4096)
		for {
			n, _, err := conn.ReadFromUnix(buf)
			if err != nil {
				return
			}
			msg := string(buf[:n])
			if v, ok := strings.CutPrefix(msg, "STATUS="); ok {
				s.status.Store(&v)
			}
			s.ch <- msg
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
	return s
}

// Path is the socket's path, what NOTIFY_SOCKET names.
func (s *Systemd) Path() string { return s.path }

// Next returns the next datagram that starts with prefix, skipping the
// others; with "" it returns the next that is not a STATUS= line.
func (s *Systemd) Next(t testing.TB, prefix string) string {
	t.Helper()
	timer := time.NewTimer(Timeout)
	defer timer.Stop()
	for {
		select {
		case msg, ok := <-s.ch:
			if !ok {
				t.Fatalf("notify socket closed, want %s...", prefix)
			}
			if prefix == "" && !strings.HasPrefix(msg, "STATUS=") || prefix != "" && strings.HasPrefix(msg, prefix) {
				return msg
			}
		case <-timer.C:
			t.Fatalf("no datagram %s... after %v", prefix, Timeout)
		}
	}
}

// Expect reads the next datagrams that are not STATUS= lines and wants
// them to be want, in order; an entry that ends with "*" matches a
// datagram that starts with the rest.
func (s *Systemd) Expect(t testing.TB, want ...string) {
	t.Helper()
	for i, w := range want {
		msg := s.Next(t, "")
		if p, ok := strings.CutSuffix(w, "*"); ok && strings.HasPrefix(msg, p) || msg == w {
			continue
		}
		t.Fatalf("datagram %d = %q, want %q (all wanted: %q)", i, msg, w, want)
	}
}

// ExpectNoMore sends a sentinel and wants nothing (but STATUS= lines, with
// status) to have arrived before it. Call it once the process under test
// can send no more, when everything it sent is in the socket.
func (s *Systemd) ExpectNoMore(t testing.TB, status bool) {
	t.Helper()
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: s.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Write([]byte(sentinel))
	c.Close()
	if err != nil {
		t.Fatal(err)
	}
	timer := time.NewTimer(Timeout)
	defer timer.Stop()
	for {
		select {
		case msg := <-s.ch:
			if msg == sentinel {
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

// WaitStatus waits until the last STATUS= line read is want.
func (s *Systemd) WaitStatus(t testing.TB, want string) {
	t.Helper()
	wait.For(t, Timeout, func() error {
		got := ""
		if p := s.status.Load(); p != nil {
			got = *p
		}
		if got != want {
			return fmt.Errorf("STATUS=%q, want %q", got, want)
		}
		return nil
	})
}
