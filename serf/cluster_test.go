package serf_test

import (
	"bytes"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/cluster"
	"github.com/openserf/serf/internal/testutil/wait"
	"github.com/openserf/serf/serf"
)

// timeout is the deadline for cluster conditions. It is generous: under -race
// on two cores a 20-node cluster is slow, and a deadline is not a sleep.
const timeout = 30 * time.Second

func TestClusterConverges(t *testing.T) {
	for _, n := range []int{3, 5, 20} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			// Twenty nodes under -race on two cores probe one another
			// too slowly for the suite's 100ms probe timeout and start
			// failing each other; this test is about joining, so it
			// probes at the lan profile's pace.
			var tweak func(*serf.Config)
			if n > 5 {
				tweak = func(c *serf.Config) {
					c.MemberlistConfig.ProbeInterval = time.Second
					c.MemberlistConfig.ProbeTimeout = 500 * time.Millisecond
					c.MemberlistConfig.SuspicionMult = 4
				}
			}
			c := cluster.New(t, "n", n, tweak)
			c.WaitConverged(t, timeout)
			// Every node got a member-join for every node, itself included.
			wait.For(t, timeout, func() error {
				for _, node := range c.Nodes {
					joins := map[string]bool{}
					for _, name := range node.MemberEvents(serf.EventMemberJoin) {
						joins[name] = true
					}
					if len(joins) != n {
						return fmt.Errorf("%s saw joins of %d members, want %d", node.Name, len(joins), n)
					}
				}
				return nil
			})
		})
	}
}

func TestClusterGracefulLeave(t *testing.T) {
	c := cluster.New(t, "l", 3, nil)
	c.WaitConverged(t, timeout)

	leaver := c.Nodes[2]
	if err := leaver.Serf.Leave(); err != nil {
		t.Fatalf("Leave() error: %v", err)
	}
	if got := leaver.Serf.State(); got != serf.SerfLeft {
		t.Fatalf("State() after Leave = %v, want left", got)
	}
	leaver.Shutdown()

	rest := c.Nodes[:2]
	cluster.WaitStatus(t, timeout, rest, leaver.Name, serf.StatusLeft)
	waitMemberEvent(t, rest, serf.EventMemberLeave, leaver.Name)
	for _, n := range rest {
		// Events arrive in order: a failure before the leave is in by now.
		if got := n.MemberEvents(serf.EventMemberFailed); len(got) != 0 {
			t.Errorf("%s: member-failed events %v, want none after a graceful leave", n.Name, got)
		}
	}
	stats := c.Nodes[0].Serf.Stats()
	if stats["left"] != "1" {
		t.Errorf("Stats()[left] = %q, want 1", stats["left"])
	}
}

// The survivor's memberlist packet handler stops at the leaver's first
// leave intent and so falls behind the rest of the leave: the other copies
// of the intent and memberlist's dead message queue up meanwhile. The
// handler takes queued messages newest first, so unless the leaver sends
// the intent with the dead message, the survivor handles the dead message
// first and sees a failure before the leave.
func TestClusterGracefulLeaveBehindSlowHandler(t *testing.T) {
	cfg := cluster.Config("slow0")
	stalled, release := make(chan struct{}), make(chan struct{})
	serf.StallOnLeaveIntent(cfg, stalled, release)
	a := cluster.Start(t, cfg)
	var releaseOnce sync.Once
	unstall := func() { releaseOnce.Do(func() { close(release) }) }
	// Runs before a's shutdown, which waits for the stalled handler.
	t.Cleanup(unstall)
	b := cluster.Start(t, cluster.Config("slow1"))
	joinPair(t, a, b)

	// Leave returns once memberlist's dead message has been sent.
	if err := b.Serf.Leave(); err != nil {
		t.Fatalf("Leave() error: %v", err)
	}
	select {
	case <-stalled:
	case <-time.After(timeout):
		t.Fatalf("%s's handler never got the leave intent", a.Name)
	}
	unstall()
	b.Shutdown()

	waitJoinThenLeave(t, a, b)
}

// The same race left to chance: pairs of nodes join and leave over and
// over while busy goroutines compete for the CPU, so survivors' packet
// handlers fall behind now and then. Before leavers sent their intent
// with memberlist's dead message, 8 of 720 leaves (4 of 8 runs) were seen
// as member-failed, then member-leave.
func TestClusterGracefulLeaveUnderLoad(t *testing.T) {
	const pairs, rounds = 6, 15
	burnCPU(t, 2*runtime.GOMAXPROCS(0))
	t.Run("pairs", func(t *testing.T) {
		for p := 0; p < pairs; p++ {
			t.Run(strconv.Itoa(p), func(t *testing.T) {
				t.Parallel()
				for r := 0; r < rounds; r++ {
					t.Run(strconv.Itoa(r), func(t *testing.T) {
						joinAndLeave(t, fmt.Sprintf("gl%d-%d-", p, r))
					})
				}
			})
		}
	})
}

// joinAndLeave starts two nodes, joins them, makes the second leave
// gracefully and checks that the first saw it join and leave, nothing else.
func joinAndLeave(t *testing.T, prefix string) {
	a := cluster.Start(t, cluster.Config(prefix+"a"))
	b := cluster.Start(t, cluster.Config(prefix+"b"))
	joinPair(t, a, b)

	if err := b.Serf.Leave(); err != nil {
		t.Fatalf("Leave() error: %v", err)
	}
	b.Shutdown()
	// A failure would come before the leave, so it is in by now.
	waitJoinThenLeave(t, a, b)
	if got := a.Status(b.Name); got != serf.StatusLeft {
		t.Errorf("%s sees %s as %v, want left", a.Name, b.Name, got)
	}
}

// joinPair joins b to a and waits until each sees both alive.
func joinPair(t *testing.T, a, b *cluster.Node) {
	t.Helper()
	if _, err := b.Serf.Join([]string{a.Addr()}, false); err != nil {
		t.Fatalf("Join() error: %v", err)
	}
	both := []*cluster.Node{a, b}
	cluster.WaitStatus(t, timeout, both, a.Name, serf.StatusAlive)
	cluster.WaitStatus(t, timeout, both, b.Name, serf.StatusAlive)
}

// waitJoinThenLeave waits for a to see b leave and checks that a saw b
// join and leave, and nothing else.
func waitJoinThenLeave(t *testing.T, a, b *cluster.Node) {
	t.Helper()
	waitMemberEvent(t, []*cluster.Node{a}, serf.EventMemberLeave, b.Name)
	if got, want := memberEventTypes(a, b.Name), []serf.EventType{serf.EventMemberJoin, serf.EventMemberLeave}; !slices.Equal(got, want) {
		t.Errorf("%s: events about %s = %v, want %v", a.Name, b.Name, got, want)
	}
}

// memberEventTypes lists, in order, the types of the member events n
// received about member name.
func memberEventTypes(n *cluster.Node, name string) []serf.EventType {
	var types []serf.EventType
	for _, e := range n.Events() {
		me, ok := e.(serf.MemberEvent)
		if !ok {
			continue
		}
		for _, m := range me.Members {
			if m.Name == name {
				types = append(types, me.Type)
			}
		}
	}
	return types
}

// burnCPU keeps n goroutines busy until the test ends, so that gossip
// goroutines wait for a CPU as on a loaded machine.
func burnCPU(t *testing.T, n int) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				var x uint64
				for j := range uint64(100000) {
					x += j
				}
				sink.Add(x)
			}
		}()
	}
	t.Cleanup(func() {
		close(stop)
		wg.Wait()
	})
}

// sink is what burnCPU's loops write, so the compiler keeps them.
var sink atomic.Uint64

func TestClusterFailureReconnectAndReap(t *testing.T) {
	c := cluster.New(t, "f", 3, func(cfg *serf.Config) {
		cfg.ReconnectTimeout = 4 * time.Second
	})
	c.WaitConverged(t, timeout)
	rest := c.Nodes[:2]

	// A node shut down without leaving is seen as failed...
	victim := c.Nodes[2]
	addr := victim.Serf.LocalMember()
	victim.Shutdown()
	cluster.WaitStatus(t, timeout, rest, victim.Name, serf.StatusFailed)
	waitMemberEvent(t, rest, serf.EventMemberFailed, victim.Name)

	// ...and is reconnected to when it comes back on the same address,
	// without anyone asking it to join.
	cfg := cluster.Config(victim.Name)
	cfg.MemberlistConfig.BindAddr = addr.Addr.String()
	cfg.MemberlistConfig.BindPort = int(addr.Port)
	back := cluster.Start(t, cfg)
	cluster.WaitStatus(t, timeout, rest, victim.Name, serf.StatusAlive)
	wait.For(t, timeout, func() error {
		if back.Serf.NumNodes() != 3 {
			return fmt.Errorf("returned node knows %d members, want 3", back.Serf.NumNodes())
		}
		return nil
	})

	// A node that stays away is reaped after ReconnectTimeout.
	back.Shutdown()
	cluster.WaitStatus(t, timeout, rest, victim.Name, serf.StatusFailed)
	cluster.WaitStatus(t, timeout, rest, victim.Name, serf.StatusNone)
	waitMemberEvent(t, rest, serf.EventMemberReap, victim.Name)
}

// waitMemberEvent waits until each of nodes has recorded exactly one event
// of type typ, about member name. An event reaches a node's event channel
// a moment after the member's status changes, so it is waited for rather
// than read at once.
func waitMemberEvent(t *testing.T, nodes []*cluster.Node, typ serf.EventType, name string) {
	t.Helper()
	for _, n := range nodes {
		wait.For(t, timeout, func() error {
			if got := n.MemberEvents(typ); len(got) != 1 || got[0] != name {
				return fmt.Errorf("%s: %s events = %v, want [%s]", n.Name, typ, got, name)
			}
			return nil
		})
	}
}

func TestClusterForceLeave(t *testing.T) {
	c := cluster.New(t, "fl", 3, nil)
	c.WaitConverged(t, timeout)
	rest := c.Nodes[:2]
	victim := c.Nodes[2]
	victim.Shutdown()
	cluster.WaitStatus(t, timeout, rest, victim.Name, serf.StatusFailed)

	if err := rest[0].Serf.RemoveFailedNode(victim.Name); err != nil {
		t.Fatalf("RemoveFailedNode() error: %v", err)
	}
	cluster.WaitStatus(t, timeout, rest, victim.Name, serf.StatusLeft)

	if err := rest[1].Serf.RemoveFailedNodePrune(victim.Name); err != nil {
		t.Fatalf("RemoveFailedNodePrune() error: %v", err)
	}
	cluster.WaitStatus(t, timeout, rest, victim.Name, serf.StatusNone)
}

func TestClusterTagsUpdate(t *testing.T) {
	c := cluster.New(t, "t", 3, func(cfg *serf.Config) {
		cfg.Tags = map[string]string{"role": "web"}
	})
	c.WaitConverged(t, timeout)

	if err := c.Nodes[1].Serf.SetTags(map[string]string{"role": "db", "dc": "east"}); err != nil {
		t.Fatalf("SetTags() error: %v", err)
	}
	wait.For(t, timeout, func() error {
		for _, n := range c.Nodes {
			m, _ := n.Member(c.Nodes[1].Name)
			if m.Tags["role"] != "db" || m.Tags["dc"] != "east" || len(m.Tags) != 2 {
				return fmt.Errorf("%s sees tags %v", n.Name, m.Tags)
			}
			if got := n.MemberEvents(serf.EventMemberUpdate); len(got) == 0 || got[len(got)-1] != c.Nodes[1].Name {
				return fmt.Errorf("%s: member-update events = %v", n.Name, got)
			}
		}
		return nil
	})

	big := map[string]string{"k": string(bytes.Repeat([]byte("x"), 600))}
	if err := c.Nodes[0].Serf.SetTags(big); err == nil || err.Error() != "Encoded length of tags exceeds limit of 512 bytes" {
		t.Errorf("SetTags(600 bytes) error = %v, want the 512-byte limit error", err)
	}
}

func TestClusterUserEventDeliveredOnce(t *testing.T) {
	c := cluster.New(t, "u", 5, nil)
	c.WaitConverged(t, timeout)

	if err := c.Nodes[0].Serf.UserEvent("deploy", []byte("v1"), false); err != nil {
		t.Fatalf("UserEvent() error: %v", err)
	}
	waitUserEvents(t, c.Nodes, 1)
	// Sent after every node witnessed the first, so stamped after it.
	if err := c.Nodes[3].Serf.UserEvent("restart", nil, false); err != nil {
		t.Fatalf("UserEvent() error: %v", err)
	}
	waitUserEvents(t, c.Nodes, 2)
	for _, n := range c.Nodes {
		seen := map[string]serf.UserEvent{}
		for _, e := range n.UserEvents() {
			seen[e.Name] = e
		}
		if e := seen["deploy"]; e.LTime != 1 || string(e.Payload) != "v1" || e.Coalesce {
			t.Errorf("%s: deploy event = %+v, want LTime 1 payload v1", n.Name, e)
		}
		if e := seen["restart"]; e.LTime != 2 || len(e.Payload) != 0 {
			t.Errorf("%s: restart event = %+v, want LTime 2 and no payload", n.Name, e)
		}
	}

	// A push/pull merge (Join runs one at once) hands over the whole event
	// buffer; nothing in it may be delivered again. The marker is sent
	// after the merge, so once it is seen any duplicate would be too.
	if _, err := c.Nodes[4].Serf.Join([]string{c.Nodes[1].Addr()}, false); err != nil {
		t.Fatalf("Join() error: %v", err)
	}
	if err := c.Nodes[4].Serf.UserEvent("marker", nil, false); err != nil {
		t.Fatalf("UserEvent() error: %v", err)
	}
	waitUserEvents(t, c.Nodes, 3)
}

// wantOnlyNewEvent sends a user event "new" from one node and waits until
// to has received it and no other user event.
func wantOnlyNewEvent(t *testing.T, from, to *cluster.Node) {
	t.Helper()
	if err := from.Serf.UserEvent("new", nil, false); err != nil {
		t.Fatalf("UserEvent() error: %v", err)
	}
	wait.For(t, timeout, func() error {
		got := to.UserEvents()
		if len(got) != 1 || got[0].Name != "new" {
			return fmt.Errorf("%s got %+v, want only the new event", to.Name, got)
		}
		return nil
	})
}

// waitUserEvents waits until every node has received exactly want user
// events, failing at once if any gets more.
func waitUserEvents(t *testing.T, nodes []*cluster.Node, want int) {
	t.Helper()
	wait.For(t, timeout, func() error {
		for _, n := range nodes {
			got := n.UserEvents()
			if len(got) > want {
				t.Fatalf("%s got %d user events, want %d: %+v", n.Name, len(got), want, got)
			}
			if len(got) != want {
				return fmt.Errorf("%s got %d user events, want %d", n.Name, len(got), want)
			}
		}
		return nil
	})
}

func TestUserEventSizeLimits(t *testing.T) {
	n := cluster.Start(t, cluster.Config("size"))
	big := bytes.Repeat([]byte("x"), 600)
	err := n.Serf.UserEvent("e", big, false)
	if err == nil || err.Error() != "user event exceeds configured limit of 512 bytes before encoding" {
		t.Errorf("UserEvent(600 bytes) error = %v", err)
	}
	err = n.Serf.UserEvent("e", bytes.Repeat([]byte("x"), 500), false)
	if err == nil || err.Error() != "encoded user event exceeds configured limit of 512 bytes after encoding" {
		t.Errorf("UserEvent(500 bytes) error = %v", err)
	}
	cfg := cluster.Config("huge")
	cfg.UserEventSizeLimit = 10000
	if _, err := serf.Create(cfg); err == nil || err.Error() != "user event size limit exceeds limit of 9216 bytes" {
		t.Errorf("Create(UserEventSizeLimit 10000) error = %v", err)
	}
}

func TestClusterUserEventCoalescing(t *testing.T) {
	c := cluster.New(t, "c", 3, func(cfg *serf.Config) {
		cfg.UserCoalescePeriod = 2 * time.Second
		cfg.UserQuiescentPeriod = 500 * time.Millisecond
	})
	c.WaitConverged(t, timeout)
	// A push/pull carries user events without their coalescing flag, as
	// in Serf, so one that overtook the burst's gossip would hand it on
	// uncoalesced. The push/pulls that follow the joins come within a few
	// gossip intervals; the burst waits for them to end.
	wait.For(t, timeout, func() error {
		for _, n := range c.Nodes {
			if n.Serf.JoinSyncRunning() {
				return fmt.Errorf("%s: join sync still running", n.Name)
			}
		}
		return nil
	})

	for i := 0; i < 10; i++ {
		if err := c.Nodes[0].Serf.UserEvent("burst", []byte(strconv.Itoa(i)), true); err != nil {
			t.Fatalf("UserEvent() error: %v", err)
		}
	}
	if err := c.Nodes[0].Serf.UserEvent("plain", nil, false); err != nil {
		t.Fatalf("UserEvent() error: %v", err)
	}
	wait.For(t, timeout, func() error {
		for _, n := range c.Nodes {
			var burst []serf.UserEvent
			plain := 0
			for _, e := range n.UserEvents() {
				switch e.Name {
				case "burst":
					burst = append(burst, e)
				case "plain":
					plain++
				}
			}
			if plain != 1 {
				return fmt.Errorf("%s got %d plain events, want 1", n.Name, plain)
			}
			if len(burst) != 1 || string(burst[0].Payload) != "9" || burst[0].LTime != 10 {
				return fmt.Errorf("%s got burst events %+v, want only the last (payload 9, LTime 10)", n.Name, burst)
			}
		}
		return nil
	})
}

func TestClusterMemberEventCoalescing(t *testing.T) {
	cfg := cluster.Config("mc0")
	cfg.CoalescePeriod = 3 * time.Second
	cfg.QuiescentPeriod = 1 * time.Second
	observer := cluster.Start(t, cfg)
	for i := 1; i <= 4; i++ {
		n := cluster.Start(t, cluster.Config(fmt.Sprintf("mc%d", i)))
		if _, err := n.Serf.Join([]string{observer.Addr()}, false); err != nil {
			t.Fatalf("Join() error: %v", err)
		}
	}
	wait.For(t, timeout, func() error {
		if got := len(observer.MemberEvents(serf.EventMemberJoin)); got != 5 {
			return fmt.Errorf("observer saw %d joins, want 5", got)
		}
		return nil
	})
	// The four joins that came in together arrive as one event.
	batches := 0
	for _, e := range observer.Events() {
		if me, ok := e.(serf.MemberEvent); ok && me.Type == serf.EventMemberJoin && len(me.Members) > 1 {
			batches++
		}
	}
	if batches == 0 {
		t.Errorf("no coalesced member-join event among %v", observer.Events())
	}
}

func TestClusterJoinIgnoreOldAndReplay(t *testing.T) {
	c := cluster.New(t, "r", 2, nil)
	c.WaitConverged(t, timeout)
	for i := 0; i < 3; i++ {
		if err := c.Nodes[0].Serf.UserEvent("old", []byte{byte('0' + i)}, false); err != nil {
			t.Fatalf("UserEvent() error: %v", err)
		}
	}
	wait.For(t, timeout, func() error {
		if got := len(c.Nodes[1].UserEvents()); got != 3 {
			return fmt.Errorf("r1 got %d events, want 3", got)
		}
		return nil
	})
	// Until the old events' last retransmissions are out, gossip could
	// still hand them to the ignorer before its join's state exchange
	// sets the floor (in Serf too): ignoring the old is about what the
	// exchange brings.
	wait.For(t, timeout, func() error {
		for _, n := range c.Nodes {
			if q := n.Serf.Stats()["event_queue"]; q != "0" {
				return fmt.Errorf("%s still has %s event broadcasts queued", n.Serf.LocalMember().Name, q)
			}
		}
		return nil
	})

	ignorer := cluster.Start(t, cluster.Config("ignorer"))
	if _, err := ignorer.Serf.Join([]string{c.Nodes[0].Addr()}, true); err != nil {
		t.Fatalf("Join(ignoreOld) error: %v", err)
	}
	replayer := cluster.Start(t, cluster.Config("replayer"))
	if _, err := replayer.Serf.Join([]string{c.Nodes[1].Addr()}, false); err != nil {
		t.Fatalf("Join(replay) error: %v", err)
	}
	wait.For(t, timeout, func() error {
		if got := len(replayer.UserEvents()); got != 3 {
			return fmt.Errorf("replayer got %d old events, want 3", got)
		}
		return nil
	})

	// A new event reaches the ignorer: it ignores only the past.
	wantOnlyNewEvent(t, c.Nodes[1], ignorer)
}

// Protocol 2 nodes carry only the role in their metadata; newer nodes
// read it as the role tag.
func TestClusterProtocolTwoRoleOnly(t *testing.T) {
	oldCfg := cluster.Config("p2")
	oldCfg.ProtocolVersion = 2
	oldCfg.Tags = map[string]string{"role": "web", "dropped": "x"}
	old := cluster.Start(t, oldCfg)
	cur := cluster.Start(t, cluster.Config("p5"))
	if _, err := cur.Serf.Join([]string{old.Addr()}, false); err != nil {
		t.Fatalf("Join() error: %v", err)
	}
	wait.For(t, timeout, func() error {
		m, ok := cur.Member("p2")
		if !ok || len(m.Tags) != 1 || m.Tags["role"] != "web" {
			return fmt.Errorf("p5 sees p2 with tags %v, want only role=web", m.Tags)
		}
		if m.DelegateCur != 2 {
			return fmt.Errorf("p2 speaks protocol %d, want 2", m.DelegateCur)
		}
		return nil
	})
}

// A Shutdown while a Leave runs on another goroutine (an agent giving up
// on a slow leave) ends the leave; memberlist panics on a Leave after its
// Shutdown, so the leave must stop short of it.
func TestClusterShutdownDuringLeave(t *testing.T) {
	c := cluster.New(t, "sl", 2, nil)
	c.WaitConverged(t, timeout)
	n := c.Nodes[0]
	left := make(chan error, 1)
	go func() { left <- n.Serf.Leave() }()
	wait.For(t, timeout, func() error {
		if got := n.Serf.State(); got != serf.SerfLeaving {
			return fmt.Errorf("State() = %v, want leaving", got)
		}
		return nil
	})
	if err := n.Serf.Shutdown(); err != nil {
		t.Fatalf("Shutdown() error: %v", err)
	}
	select {
	case err := <-left:
		if err != nil {
			t.Errorf("Leave() cut short by Shutdown = %v, want nil", err)
		}
	case <-time.After(timeout):
		t.Fatalf("Leave() still running %v after Shutdown", timeout)
	}
}
