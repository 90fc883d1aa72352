package serf_test

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/cluster"
	"github.com/openserf/serf/serf"
)

// hangUpProxy forwards TCP connections to target after hanging up on the
// first hangUps of them, as a member over its push/pull limit does.
type hangUpProxy struct {
	ln       net.Listener
	target   string
	hangUps  int32
	accepted atomic.Int32
	wg       sync.WaitGroup
}

func startHangUpProxy(t *testing.T, target string, hangUps int32) *hangUpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &hangUpProxy{ln: ln, target: target, hangUps: hangUps}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		_ = ln.Close()
		p.wg.Wait()
	})
	return p
}

func (p *hangUpProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.accepted.Add(1) <= p.hangUps {
			_ = c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.wg.Add(2)
		pipe := func(dst, src net.Conn) {
			defer p.wg.Done()
			_, _ = io.Copy(dst, src)
			_ = dst.Close()
			_ = src.Close()
		}
		go pipe(up, c)
		go pipe(c, up)
	}
}

func TestJoinRetriesAfterHangUp(t *testing.T) {
	a := cluster.Start(t, cluster.Config("hang-a"))
	b := cluster.Start(t, cluster.Config("hang-b"))
	proxy := startHangUpProxy(t, a.Addr(), 2)

	n, err := b.Serf.Join([]string{proxy.ln.Addr().String()}, false)
	if err != nil || n != 1 {
		t.Fatalf("Join through a peer that hung up twice = %d, %v; want 1, nil", n, err)
	}
	if got := proxy.accepted.Load(); got != 3 {
		t.Errorf("proxy accepted %d connections, want 3 (two hang-ups, one join)", got)
	}
	cluster.WaitStatus(t, 10*time.Second, []*cluster.Node{a, b}, "hang-b", serf.StatusAlive)
}

func TestJoinGivesUpOnEndlessHangUps(t *testing.T) {
	b := cluster.Start(t, cluster.Config("hang-c"))
	proxy := startHangUpProxy(t, "127.0.0.1:1", 1000)

	n, err := b.Serf.Join([]string{proxy.ln.Addr().String()}, false)
	if err == nil || n != 0 {
		t.Fatalf("Join through a peer that always hangs up = %d, %v; want 0 and an error", n, err)
	}
	if got := proxy.accepted.Load(); got != 5 {
		t.Errorf("proxy accepted %d connections, want 5 (the join and 4 retries)", got)
	}
}

func TestJoinDoesNotRetryRefused(t *testing.T) {
	b := cluster.Start(t, cluster.Config("hang-d"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()

	start := time.Now()
	if n, err := b.Serf.Join([]string{addr}, false); err == nil || n != 0 {
		t.Fatalf("Join to a closed port = %d, %v; want 0 and an error", n, err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Join to a closed port took %v; a refusal must not be retried", d)
	}
}
