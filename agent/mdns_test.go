package agent

import (
	"context"
	"log"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/mdns"
	"github.com/openserf/serf/internal/testutil/cluster"
)

// fakeResponder stands in for the mDNS server.
type fakeResponder struct{ shutdowns atomic.Int32 }

func (f *fakeResponder) Shutdown() error {
	f.shutdowns.Add(1)
	return nil
}

// testDiscovery runs a Discovery whose poll finds one peer and whose join
// of it blocks until release is closed.
func testDiscovery(t *testing.T) (d *Discovery, responder *fakeResponder, joining, release chan struct{}) {
	t.Helper()
	joining, release = make(chan struct{}), make(chan struct{})
	var once sync.Once
	logs := &cluster.SafeBuffer{}
	responder = &fakeResponder{}
	d = &Discovery{
		cfg: DiscoveryConfig{
			Logger:  log.New(logs, "", log.LstdFlags),
			Cluster: "test",
			Join: func([]string, bool) (int, error) {
				once.Do(func() { close(joining) })
				<-release
				return 1, nil
			},
		},
		server: responder,
	}
	d.query = func(ctx context.Context, found chan<- *mdns.ServiceEntry) {
		select {
		case found <- &mdns.ServiceEntry{Addr: net.ParseIP("127.0.0.9"), Port: DefaultBindPort}:
		case <-ctx.Done():
		}
	}
	d.start()
	return d, responder, joining, release
}

// Shutdown from two goroutines at once: both wait for the join under way,
// and the responder is shut down once.
func TestDiscoveryConcurrentShutdown(t *testing.T) {
	d, responder, joining, release := testDiscovery(t)
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	defer unblock()
	select {
	case <-joining:
	case <-time.After(10 * time.Second):
		t.Fatal("the found peer was not joined in 10s")
	}

	first, second := make(chan struct{}), make(chan struct{})
	go func() { d.Shutdown(); close(first) }()
	select {
	case <-d.stopCh:
	case <-time.After(10 * time.Second):
		t.Fatal("the first Shutdown did not begin in 10s")
	}
	go func() { d.Shutdown(); close(second) }()
	select {
	case <-second:
		t.Fatal("a second Shutdown returned while the first still waited for the join")
	case <-first:
		t.Fatal("Shutdown returned while a join was under way")
	case <-time.After(mustReturnWithin):
	}
	unblock()
	for _, done := range []chan struct{}{first, second} {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Shutdown still waiting 10s after the join returned")
		}
	}
	if n := responder.shutdowns.Load(); n != 1 {
		t.Errorf("responder shut down %d times, want 1", n)
	}
}
