package serf_test

import (
	"fmt"
	"io"
	"log"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/cluster"
	"github.com/openserf/serf/internal/testutil/wait"
	"github.com/openserf/serf/serf"
)

// TestJoinSyncConcurrentJoin joins 30 nodes to the first one at the same
// moment. Gossip alone is made unreliable (one retransmission per
// message) and the periodic push/pull is out of reach, so every node
// learns of every other within the deadline only through the push/pulls
// that follow a join. Under -race on two cores 30 nodes may suspect each
// other for a while; whether members are alive is beside the point here.
func TestJoinSyncConcurrentJoin(t *testing.T) {
	const n = 30
	var nodes []*cluster.Node
	for i := 0; i < n; i++ {
		cfg := cluster.Config(fmt.Sprintf("js%d", i))
		cfg.MemberlistConfig.RetransmitMult = 1
		cfg.MemberlistConfig.PushPullInterval = time.Hour
		cfg.MemberlistConfig.GossipInterval = 50 * time.Millisecond
		nodes = append(nodes, cluster.Start(t, cfg))
	}
	first := nodes[0].Addr()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for _, node := range nodes[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := node.Serf.Join([]string{first}, false); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Join(%s) error: %v", first, err)
	}
	wait.For(t, 20*time.Second, func() error {
		for _, node := range nodes {
			if got := len(node.Serf.Members()); got != n {
				return fmt.Errorf("%s knows %d members, want %d", node.Name, got, n)
			}
		}
		return nil
	})
}

// TestJoinSyncAloneStops checks that a join sync with nothing to learn
// ends: two nodes joined, then no more push/pulls are started.
func TestJoinSyncAloneStops(t *testing.T) {
	c := cluster.New(t, "jsa", 2, func(cfg *serf.Config) {
		cfg.MemberlistConfig.PushPullInterval = time.Hour
	})
	c.WaitConverged(t, 10*time.Second)
	wait.For(t, 10*time.Second, func() error {
		for _, node := range c.Nodes {
			if node.Serf.JoinSyncRunning() {
				return fmt.Errorf("%s: join sync still running", node.Name)
			}
		}
		return nil
	})
}

func TestCreateBindError(t *testing.T) {
	cfg := cluster.Config("bind")
	first := cluster.Start(t, cfg)
	port := first.Serf.LocalMember().Port

	cfg = cluster.Config("bind2")
	cfg.MemberlistConfig.BindAddr = first.Serf.LocalMember().Addr.String()
	cfg.MemberlistConfig.BindPort = int(port)
	cfg.Logger = log.New(io.Discard, "", 0)
	_, err := serf.Create(cfg)
	want := fmt.Sprintf("Failed to create memberlist: could not set up network transport: failed to obtain an address: failed to start TCP listener on %q port %d: ", cfg.MemberlistConfig.BindAddr, port)
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("Create on a taken port: error = %v, want prefix %q", err, want)
	}
}
