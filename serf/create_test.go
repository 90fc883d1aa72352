package serf_test

import (
	"bytes"
	"errors"
	"log"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/cluster"
	"github.com/openserf/serf/internal/testutil/wait"
	"github.com/openserf/serf/serf"
)

// Serf's Create writes into the config it is given, and programs depend
// on it: tests read the port memberlist bound when BindPort was 0, and
// the delegates and node name are set on MemberlistConfig.
func TestCreateFillsInCallersConfig(t *testing.T) {
	conf := cluster.Config("fill")
	conf.Tags = nil
	conf.MemberlistConfig.BindPort = 0
	events := make(chan serf.Event, 64)
	conf.EventCh = events
	n := cluster.Start(t, conf)

	ml := conf.MemberlistConfig
	if ml.BindPort == 0 || ml.AdvertisePort != ml.BindPort {
		t.Errorf("MemberlistConfig ports after Create = bind %d advertise %d, want the bound port in both", ml.BindPort, ml.AdvertisePort)
	}
	if got := n.Serf.LocalMember().Port; int(got) != ml.BindPort {
		t.Errorf("local node port = %d, want the config's BindPort %d", got, ml.BindPort)
	}
	if ml.Name != "fill" {
		t.Errorf("MemberlistConfig.Name = %q, want %q", ml.Name, "fill")
	}
	if ml.Events == nil || ml.Delegate == nil || ml.Conflict == nil || ml.Ping == nil {
		t.Errorf("MemberlistConfig delegates = events %v delegate %v conflict %v ping %v, want all set", ml.Events, ml.Delegate, ml.Conflict, ml.Ping)
	}
	if ml.DelegateProtocolVersion != conf.ProtocolVersion || ml.DelegateProtocolMin != serf.ProtocolVersionMin || ml.DelegateProtocolMax != serf.ProtocolVersionMax {
		t.Errorf("delegate protocol = %d (%d..%d), want %d (%d..%d)", ml.DelegateProtocolVersion, ml.DelegateProtocolMin,
			ml.DelegateProtocolMax, conf.ProtocolVersion, serf.ProtocolVersionMin, serf.ProtocolVersionMax)
	}
	if ml.Transport != nil {
		t.Errorf("MemberlistConfig.Transport = %v, want it left nil as the caller set it", ml.Transport)
	}
	if conf.Tags == nil {
		t.Errorf("Tags = nil after Create, want Init's empty map")
	}
	if conf.EventCh == nil || conf.EventCh == (chan<- serf.Event)(events) {
		t.Errorf("EventCh after Create is the caller's channel, want the head of the node's pipeline")
	}

	// What is sent on the returned channel reaches the caller's, as in
	// Serf, where it is the chain's first stage.
	conf.EventCh <- serf.UserEvent{Name: "injected", LTime: 1}
	wait.For(t, 5*time.Second, func() error {
		for {
			select {
			case e := <-events:
				if u, ok := e.(serf.UserEvent); ok && u.Name == "injected" {
					return nil
				}
			default:
				return errors.New("injected event not delivered yet")
			}
		}
	})

	// A second node joins with the port read from the first's config.
	other := cluster.Start(t, cluster.Config("other"))
	addr := net.JoinHostPort(ml.BindAddr, strconv.Itoa(ml.BindPort))
	if _, err := other.Serf.Join([]string{addr}, false); err != nil {
		t.Fatalf("Join(%s) from the config's port error = %v", addr, err)
	}
}

// Serf does not hand its logger to memberlist: memberlist logs through
// its own Logger or LogOutput. Ours did; a program that sends Serf's log
// to one place and memberlist's to another must see them apart.
func TestMemberlistLogsOnItsOwn(t *testing.T) {
	var serfLog, mlLog cluster.SafeBuffer
	conf := cluster.Config("logs")
	conf.Logger = log.New(&serfLog, "", 0)
	conf.MemberlistConfig.Logger = nil
	conf.MemberlistConfig.LogOutput = &mlLog
	conf.MemberlistConfig.BindPort = 0
	s, err := serf.Create(conf)
	if err != nil {
		t.Fatalf("Create() error = %v", err)
	}
	defer s.Shutdown()
	if !strings.Contains(mlLog.String(), "[DEBUG] memberlist: Using dynamic bind port") {
		t.Errorf("memberlist log = %q, want its dynamic port line", mlLog.String())
	}
	if strings.Contains(serfLog.String(), "memberlist:") {
		t.Errorf("serf log = %q, want no memberlist lines", serfLog.String())
	}
}

// The public Snapshotter, as programs that build their own event pipeline
// use it: events pass through and are recorded, a reopened file gives
// back the clocks and the peers, and a recorded leave clears the peers.
func TestSnapshotterPublicAPI(t *testing.T) {
	path := filepath.Join(t.TempDir(), "snap")
	var logs bytes.Buffer
	logger := log.New(&logs, "", 0)
	var clock serf.LamportClock
	clock.Witness(41)

	shutdown := make(chan struct{})
	out := make(chan serf.Event, 4)
	in, snap, err := serf.NewSnapshotter(path, 1024, false, logger, &clock, out, shutdown)
	if err != nil {
		t.Fatalf("NewSnapshotter() error = %v", err)
	}
	join := serf.MemberEvent{Type: serf.EventMemberJoin, Members: []serf.Member{{Name: "peer", Addr: net.ParseIP("127.0.0.9"), Port: 7946}}}
	in <- join
	in <- serf.UserEvent{LTime: 7, Name: "deploy"}
	if e := <-out; e.EventType() != serf.EventMemberJoin {
		t.Errorf("first event passed on = %v, want member-join", e)
	}
	if e := <-out; e.EventType() != serf.EventUser {
		t.Errorf("second event passed on = %v, want user", e)
	}
	close(shutdown)
	snap.Wait()

	shutdown = make(chan struct{})
	_, snap, err = serf.NewSnapshotter(path, 1024, false, logger, &clock, nil, shutdown)
	if err != nil {
		t.Fatalf("reopen error = %v", err)
	}
	alive := snap.AliveNodes()
	if len(alive) != 1 || alive[0].Name != "peer" || alive[0].Addr != "127.0.0.9:7946" {
		t.Errorf("AliveNodes() = %v, want [peer: 127.0.0.9:7946]", alive)
	}
	if snap.LastClock() != 41 || snap.LastEventClock() != 7 || snap.LastQueryClock() != 0 {
		t.Errorf("clocks = %d %d %d, want 41 7 0", snap.LastClock(), snap.LastEventClock(), snap.LastQueryClock())
	}
	snap.Leave()
	close(shutdown)
	snap.Wait()

	shutdown = make(chan struct{})
	defer close(shutdown)
	_, snap, err = serf.NewSnapshotter(path, 1024, false, logger, &clock, nil, shutdown)
	if err != nil {
		t.Fatalf("reopen after leave error = %v", err)
	}
	if got := snap.AliveNodes(); len(got) != 0 || snap.LastClock() != 0 {
		t.Errorf("after leave: AliveNodes() = %v, LastClock() = %d, want none and 0", got, snap.LastClock())
	}
}
