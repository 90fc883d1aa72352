package notifytest

import (
	"net"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// The reading goroutine ends at the test's cleanup.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// send writes each datagram to the socket NOTIFY_SOCKET names, as
// sd_notify does.
func send(t *testing.T, msgs ...string) {
	t.Helper()
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: os.Getenv("NOTIFY_SOCKET"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, m := range msgs {
		if _, err := c.Write([]byte(m)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSystemdReadsInOrder(t *testing.T) {
	s := Listen(t, true)
	if got := os.Getenv("NOTIFY_SOCKET"); got != s.Path() {
		t.Fatalf("NOTIFY_SOCKET = %q, want %q", got, s.Path())
	}
	send(t, "STATUS=starting", "READY=1", "STATUS=up", "RELOADING=1\nMONOTONIC_USEC=1", "READY=1", "WATCHDOG=1", "STOPPING=1")
	s.Expect(t, "READY=1", "RELOADING=1*")
	s.WaitStatus(t, "up")
	if got := s.Next(t, "WATCHDOG"); got != "WATCHDOG=1" {
		t.Errorf("Next(WATCHDOG) = %q, want WATCHDOG=1, the READY=1 before it skipped", got)
	}
	if got := s.Next(t, ""); got != "STOPPING=1" {
		t.Errorf("Next() = %q, want STOPPING=1", got)
	}
	s.ExpectNoMore(t, false)
}

func TestSystemdWithoutEnv(t *testing.T) {
	t.Setenv("WATCHDOG_USEC", "1000")
	Listen(t, false)
	if v, ok := os.LookupEnv("NOTIFY_SOCKET"); ok {
		t.Errorf("NOTIFY_SOCKET = %q, want unset", v)
	}
	if v := os.Getenv("WATCHDOG_USEC"); v != "" {
		t.Errorf("WATCHDOG_USEC = %q, want cleared", v)
	}
}
