//go:build linux

package netem

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/wait"
)

// testQueue is the NFQUEUE number every test uses: queue numbers are per
// network namespace, and each test has namespaces of its own.
const testQueue = 7

// linkCount makes names and subnets unique within the test process.
var linkCount atomic.Uint32

// link is two network namespaces joined by a veth pair: A (10.98.x.1)
// sends to B (10.98.x.2) through the queue, and B's replies come straight
// back, so a round trip carries the queue's delay once.
type link struct {
	nsA, nsB     string
	ifA          string
	addrA, addrB netip.Addr
}

// tool returns the path of a command-line tool, looking in /usr/sbin and
// /sbin too, or skips the test.
func tool(tb testing.TB, name string) string {
	tb.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		p := dir + "/" + name
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	tb.Skipf("%s not found in PATH, /usr/sbin or /sbin: this test needs it", name)
	return ""
}

// needRoot skips the test unless it can create network namespaces and
// iptables rules.
func needRoot(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("needs root to create network namespaces and iptables rules")
	}
	tool(tb, "ip")
	tool(tb, "iptables")
}

func run(tb testing.TB, name string, args ...string) {
	tb.Helper()
	out, err := exec.Command(tool(tb, name), args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// newLink builds a link, queues every UDP packet that A sends on it to
// testQueue, and removes it all when the test ends.
func newLink(tb testing.TB) *link {
	tb.Helper()
	needRoot(tb)
	n := linkCount.Add(1)
	id := fmt.Sprintf("%d-%d", os.Getpid()%100000, n)
	l := &link{
		nsA:   "netem-" + id + "-a",
		nsB:   "netem-" + id + "-b",
		ifA:   "nm" + strings.ReplaceAll(id, "-", "x") + "a",
		addrA: netip.AddrFrom4([4]byte{10, 98, byte(n), 1}),
		addrB: netip.AddrFrom4([4]byte{10, 98, byte(n), 2}),
	}
	ifB := l.ifA[:len(l.ifA)-1] + "b"
	for _, ns := range []string{l.nsA, l.nsB} {
		run(tb, "ip", "netns", "add", ns)
		tb.Cleanup(func() {
			// Deleting a namespace deletes its end of the veth and its
			// iptables rules with it.
			if out, err := exec.Command(tool(tb, "ip"), "netns", "del", ns).CombinedOutput(); err != nil {
				tb.Errorf("ip netns del %s: %v\n%s", ns, err, out)
			}
		})
		run(tb, "ip", "-n", ns, "link", "set", "lo", "up")
	}
	run(tb, "ip", "link", "add", l.ifA, "netns", l.nsA, "type", "veth", "peer", "name", ifB, "netns", l.nsB)
	for _, side := range []struct {
		ns, dev string
		addr    netip.Addr
	}{{l.nsA, l.ifA, l.addrA}, {l.nsB, ifB, l.addrB}} {
		run(tb, "ip", "-n", side.ns, "addr", "add", side.addr.String()+"/24", "dev", side.dev)
		run(tb, "ip", "-n", side.ns, "link", "set", side.dev, "up")
	}
	// The kernel brings a new link's queueing up asynchronously, up to a
	// second later; until then the first ARP request is lost and the
	// first round trip takes a second more.
	for _, side := range []struct{ ns, dev string }{{l.nsA, l.ifA}, {l.nsB, ifB}} {
		wait.For(tb, 5*time.Second, func() error {
			out, err := exec.Command(tool(tb, "ip"), "-n", side.ns, "-o", "link", "show", "dev", side.dev).CombinedOutput()
			if err != nil || !strings.Contains(string(out), " state UP ") {
				return fmt.Errorf("ip -n %s link show dev %s = %q, %v; want state UP", side.ns, side.dev, out, err)
			}
			return nil
		})
	}
	run(tb, "ip", "netns", "exec", l.nsA, tool(tb, "iptables"), "-A", "OUTPUT", "-o", l.ifA, "-p", "udp",
		"-j", "NFQUEUE", "--queue-num", fmt.Sprint(testQueue), "--queue-bypass")
	return l
}

// start starts a queue in A and closes it when the test ends.
func (l *link) start(tb testing.TB, cfg Config) *Queue {
	tb.Helper()
	var q *Queue
	err := InNetns(l.nsA, func() error {
		var err error
		q, err = Start(cfg)
		return err
	})
	if err != nil {
		tb.Fatalf("Start(%+v) in %s: %v", cfg, l.nsA, err)
	}
	tb.Cleanup(func() {
		if err := q.Close(); err != nil {
			tb.Errorf("Close() = %v, want nil", err)
		}
	})
	return q
}

// listen opens a UDP socket on addr in namespace ns and closes it when
// the test ends.
func listen(tb testing.TB, ns string, addr netip.Addr) *net.UDPConn {
	tb.Helper()
	var conn *net.UDPConn
	err := InNetns(ns, func() error {
		var err error
		conn, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, 0)))
		return err
	})
	if err != nil {
		tb.Fatalf("listen on %v in %s: %v", addr, ns, err)
	}
	tb.Cleanup(func() { conn.Close() })
	return conn
}

// echo starts a UDP echo server in B and returns its address. Its
// goroutine ends, and is waited for, when the test ends.
func (l *link) echo(tb testing.TB) netip.AddrPort {
	tb.Helper()
	conn := listen(tb, l.nsB, l.addrB)
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return // closed by the cleanup
			}
			if _, err := conn.WriteToUDPAddrPort(buf[:n], from); err != nil {
				return
			}
		}
	})
	// Cleanups run last-registered first: close the socket, then wait.
	tb.Cleanup(wg.Wait)
	tb.Cleanup(func() { conn.Close() })
	return conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

// client is A's end of the round trips.
type client struct {
	conn *net.UDPConn
	to   netip.AddrPort
	seq  uint32
}

func (l *link) client(tb testing.TB) *client {
	tb.Helper()
	return &client{conn: listen(tb, l.nsA, l.addrA), to: l.echo(tb)}
}

// send sends one probe and returns its sequence number.
func (c *client) send(tb testing.TB) uint32 {
	tb.Helper()
	c.seq++
	if _, err := c.conn.WriteToUDPAddrPort(binary.BigEndian.AppendUint32(nil, c.seq), c.to); err != nil {
		tb.Fatalf("send probe %d: %v", c.seq, err)
	}
	return c.seq
}

// await waits up to timeout for the reply to probe seq, skipping replies
// to earlier probes.
func (c *client) await(seq uint32, timeout time.Duration) error {
	if err := c.conn.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	buf := make([]byte, 64)
	for {
		n, _, err := c.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return fmt.Errorf("reply to probe %d: %w", seq, err)
		}
		if n == 4 && binary.BigEndian.Uint32(buf) == seq {
			return nil
		}
	}
}

// rtts measures n round trips, one after another.
func (c *client) rtts(tb testing.TB, n int) []time.Duration {
	tb.Helper()
	var out []time.Duration
	for range n {
		start := time.Now()
		if err := c.await(c.send(tb), 3*time.Second); err != nil {
			tb.Fatal(err)
		}
		out = append(out, time.Since(start))
	}
	slices.Sort(out)
	return out
}

// queued reports whether a datagram is waiting on the client's socket,
// without waiting for one.
func (c *client) queued(tb testing.TB) bool {
	tb.Helper()
	raw, err := c.conn.SyscallConn()
	if err != nil {
		tb.Fatal(err)
	}
	var rerr error
	buf := make([]byte, 64)
	if err := raw.Read(func(fd uintptr) bool {
		_, _, rerr = syscall.Recvfrom(int(fd), buf, syscall.MSG_DONTWAIT|syscall.MSG_PEEK)
		return true
	}); err != nil {
		tb.Fatal(err)
	}
	if rerr != nil && rerr != syscall.EAGAIN {
		tb.Fatalf("peek: %v", rerr)
	}
	return rerr == nil
}

func median(d []time.Duration) time.Duration { return d[len(d)/2] }

func TestDelay(t *testing.T) {
	l := newLink(t)
	const delay, jitter = 100 * time.Millisecond, 10 * time.Millisecond
	q := l.start(t, Config{Queue: testQueue, Delay: delay, Jitter: jitter})
	c := l.client(t)

	rtts := c.rtts(t, 30)
	t.Logf("delay %v ± %v: round trips min %v, median %v, max %v", delay, jitter, rtts[0], median(rtts), rtts[len(rtts)-1])
	if m := median(rtts); m < 80*time.Millisecond || m > 200*time.Millisecond {
		t.Errorf("median round trip = %v, want 80ms..200ms", m)
	}
	// A verdict is never sent before its time, so no round trip is
	// shorter than the shortest possible delay.
	if rtts[0] < delay-jitter {
		t.Errorf("shortest round trip = %v, want >= %v", rtts[0], delay-jitter)
	}
	// The writer counts a verdict once it is sent, which can be after
	// the reply is back.
	wait.For(t, 5*time.Second, func() error {
		if st := q.Stats(); st.Seen != 30 || st.Accepted != 30 || st.Dropped != 0 || st.Pending != 0 || st.Errors != 0 || st.Overruns != 0 {
			return fmt.Errorf("Stats() = %+v, want 30 seen and accepted, nothing else", st)
		}
		return nil
	})
}

func TestSetDelay(t *testing.T) {
	l := newLink(t)
	q := l.start(t, Config{Queue: testQueue})
	c := l.client(t)

	for _, step := range []struct {
		delay    time.Duration
		min, max time.Duration
	}{
		// A round trip is never shorter than the delay; the upper bounds
		// leave room for a loaded machine.
		{0, 0, 100 * time.Millisecond},
		{150 * time.Millisecond, 150 * time.Millisecond, 400 * time.Millisecond},
		{30 * time.Millisecond, 30 * time.Millisecond, 130 * time.Millisecond},
		{0, 0, 100 * time.Millisecond},
	} {
		q.SetDelay(step.delay, 0)
		rtts := c.rtts(t, 9)
		t.Logf("SetDelay(%v, 0): round trips min %v, median %v, max %v", step.delay, rtts[0], median(rtts), rtts[len(rtts)-1])
		if m := median(rtts); m < step.min || m > step.max {
			t.Errorf("after SetDelay(%v, 0): median round trip = %v, want %v..%v", step.delay, m, step.min, step.max)
		}
	}
}

func TestLossAll(t *testing.T) {
	l := newLink(t)
	q := l.start(t, Config{Queue: testQueue, Delay: 10 * time.Millisecond, Loss: 1})
	c := l.client(t)

	const n = 50
	for range n {
		c.send(t)
	}
	// A drop verdict takes effect while the kernel handles it, so once
	// all are counted no reply can be on its way.
	wait.For(t, 10*time.Second, func() error {
		if st := q.Stats(); st.Dropped != n {
			return fmt.Errorf("Stats() = %+v, want %d dropped", st, n)
		}
		return nil
	})
	if st := q.Stats(); st.Seen != n || st.Accepted != 0 || st.Pending != 0 {
		t.Errorf("Stats() = %+v, want %d seen and dropped, none accepted", st, n)
	}
	if c.queued(t) {
		t.Error("a reply arrived, want every probe dropped")
	}
}

func TestLossPartial(t *testing.T) {
	l := newLink(t)
	const loss = 0.3
	seed := time.Now().UnixNano()
	q := l.start(t, Config{Queue: testQueue, Loss: loss, Seed: seed})
	c := l.client(t)

	var replies atomic.Uint64
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 64)
		for {
			if _, _, err := c.conn.ReadFromUDPAddrPort(buf); err != nil {
				return // closed by the cleanup below
			}
			replies.Add(1)
		}
	})
	t.Cleanup(wg.Wait)
	t.Cleanup(func() { c.conn.Close() })

	// Send in rounds, each waiting for the last to be settled, so no
	// socket buffer can overflow and every accepted probe gets a reply.
	const rounds, perRound = 20, 25
	for r := 1; r <= rounds; r++ {
		for range perRound {
			c.send(t)
		}
		wait.For(t, 10*time.Second, func() error {
			st := q.Stats()
			if st.Seen != uint64(r*perRound) || st.Pending != 0 || replies.Load() != st.Accepted {
				return fmt.Errorf("round %d: Stats() = %+v, %d replies; want %d seen, none pending, a reply for each accepted",
					r, st, replies.Load(), r*perRound)
			}
			return nil
		})
	}
	st := q.Stats()
	got := float64(st.Dropped) / float64(st.Seen)
	t.Logf("loss %v (seed %d): dropped %d of %d = %.3f", loss, seed, st.Dropped, st.Seen, got)
	// 500 draws: the standard deviation is about 0.02.
	if got < 0.2 || got > 0.4 {
		t.Errorf("dropped %d of %d = %.3f, want 0.2..0.4 (seed %d)", st.Dropped, st.Seen, got, seed)
	}
	if st.Accepted+st.Dropped != st.Seen {
		t.Errorf("Stats() = %+v, want accepted + dropped = seen", st)
	}
}

// TestBurst holds far more packets at once than the kernel's default
// queue length (1024), with jitter so that verdicts leave out of order,
// and checks that every one gets its verdict and none is lost on the way.
func TestBurst(t *testing.T) {
	l := newLink(t)
	q := l.start(t, Config{Queue: testQueue, Delay: 300 * time.Millisecond, Jitter: 50 * time.Millisecond})
	c := l.client(t)
	// A held packet still counts against its socket's send buffer, so
	// the default buffer (about 200 packets) would throttle the burst.
	raw, err := c.conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUFFORCE, 32<<20)
	}); err != nil || serr != nil {
		t.Fatalf("SO_SNDBUFFORCE: %v, %v", err, serr)
	}

	const n = 5000
	start := time.Now()
	for range n {
		c.send(t)
	}
	if st := q.Stats(); st.Pending <= 1024 {
		t.Logf("after the burst: Stats() = %+v, want over 1024 pending (is the machine slow?)", st)
	}
	wait.For(t, 30*time.Second, func() error {
		if st := q.Stats(); st.Accepted != n {
			return fmt.Errorf("Stats() = %+v, want %d accepted", st, n)
		}
		return nil
	})
	t.Logf("%d packets sent and released in %v", n, time.Since(start))
	if st := q.Stats(); st.Seen != n || st.Dropped != 0 || st.Pending != 0 || st.Overruns != 0 || st.Errors != 0 {
		t.Errorf("Stats() = %+v, want %d seen and accepted, nothing else", st, n)
	}
}

func TestCloseReleasesHeld(t *testing.T) {
	l := newLink(t)
	var q *Queue
	if err := InNetns(l.nsA, func() error {
		var err error
		q, err = Start(Config{Queue: testQueue, Delay: time.Minute})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	c := l.client(t)

	seq := c.send(t)
	wait.For(t, 5*time.Second, func() error {
		if st := q.Stats(); st.Pending != 1 {
			return fmt.Errorf("Stats() = %+v, want 1 pending", st)
		}
		return nil
	})
	start := time.Now()
	if err := q.Close(); err != nil {
		t.Fatalf("Close() = %v, want nil", err)
	}
	if err := c.await(seq, 5*time.Second); err != nil {
		t.Fatalf("held probe after Close: %v", err)
	}
	t.Logf("held probe released %v after Close", time.Since(start))
	if st := q.Stats(); st.Accepted != 1 || st.Pending != 0 {
		t.Errorf("Stats() after Close = %+v, want 1 accepted, none pending", st)
	}
	if err := q.Close(); err != nil {
		t.Errorf("second Close() = %v, want nil", err)
	}

	// With the queue unbound, --queue-bypass lets packets straight through.
	rtts := c.rtts(t, 5)
	if m := median(rtts); m > 50*time.Millisecond {
		t.Errorf("median round trip after Close = %v, want < 50ms", m)
	}
}

func TestStartErrors(t *testing.T) {
	for _, cfg := range []Config{
		{Delay: -time.Second},
		{Delay: MaxDelay + 1},
		{Jitter: -1},
		{Loss: 1.5},
		{Loss: -0.1},
	} {
		if q, err := Start(cfg); err == nil {
			q.Close()
			t.Errorf("Start(%+v) = nil error, want one", cfg)
		}
	}

	l := newLink(t)
	l.start(t, Config{Queue: testQueue})
	err := InNetns(l.nsA, func() error {
		q, err := Start(Config{Queue: testQueue})
		if err == nil {
			q.Close()
		}
		return err
	})
	if !errors.Is(err, syscall.EPERM) {
		t.Errorf("Start of a queue already bound = %v, want EPERM", err)
	}
}

func TestInNetns(t *testing.T) {
	for _, name := range []string{"", ".", "..", "a/b"} {
		if err := InNetns(name, func() error { return nil }); err == nil {
			t.Errorf("InNetns(%q) = nil, want an error", name)
		}
	}
	if err := InNetns("netem-no-such-namespace", func() error { return nil }); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("InNetns(missing) = %v, want os.ErrNotExist", err)
	}

	l := newLink(t)
	self := netnsID(t)
	fnErr := errors.New("from fn")
	var inside string
	err := InNetns(l.nsA, func() error {
		inside = netnsID(t)
		return fnErr
	})
	if !errors.Is(err, fnErr) {
		t.Errorf("InNetns() = %v, want fn's error", err)
	}
	if inside == self {
		t.Errorf("namespace inside fn = %s, want other than the test's", inside)
	}
	if got := netnsID(t); got != self {
		t.Errorf("namespace after InNetns = %s, want %s", got, self)
	}
}

// netnsID names the network namespace of the calling thread.
func netnsID(tb testing.TB) string {
	tb.Helper()
	id, err := os.Readlink("/proc/thread-self/ns/net")
	if err != nil {
		tb.Fatal(err)
	}
	return id
}
