package serf_test

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/cluster"
	"github.com/openserf/serf/internal/testutil/wait"
	"github.com/openserf/serf/serf"
)

// TestEarlyRefutation: a member whose memberlist packet handler is stuck,
// as on a machine short of CPU, still refutes a suspicion of itself at
// once, because its transport answers it before the packet goes to the
// handler's queue. Left to memberlist alone, the refutation waits until
// the handler gets to it.
func TestEarlyRefutation(t *testing.T) {
	for _, early := range []bool{true, false} {
		name := "early"
		if !early {
			name = "memberlist's refutation only"
		}
		t.Run(name, func(t *testing.T) {
			a := cluster.Start(t, cluster.Config("a"))
			cb := cluster.Config("b")
			if !early {
				serf.NoEarlyRefutation(cb)
			}
			stalled, release := make(chan struct{}), make(chan struct{})
			released := false
			defer func() {
				if !released {
					close(release)
				}
			}()
			serf.StallOnUserEvent(cb, stalled, release)
			b := cluster.Start(t, cb)
			if _, err := b.Serf.Join([]string{a.Addr()}, false); err != nil {
				t.Fatal(err)
			}
			cluster.WaitStatus(t, 10*time.Second, []*cluster.Node{a}, "b", serf.StatusAlive)

			// b's handler stops at a's user event; b still reads packets.
			if err := a.Serf.UserEvent("stall", nil, false); err != nil {
				t.Fatal(err)
			}
			select {
			case <-stalled:
			case <-time.After(10 * time.Second):
				t.Fatal("b's handler never got the user event")
			}

			// A member called ghost tells b that b is suspect, at each
			// incarnation b may be at.
			conn, err := net.Dial("udp", b.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := conn.Write(accusations(t, 30)); err != nil {
				t.Fatal(err)
			}
			const line = "[WARN] memberlist: Refuting a suspect message (from: ghost)"
			refuted := func() error {
				if !strings.Contains(b.Logs.String(), line) {
					return errors.New("no refutation of ghost's suspicion logged")
				}
				return nil
			}
			if early {
				wait.For(t, 10*time.Second, refuted)
				return
			}
			// Nothing refutes while the handler is stuck (a second, ten
			// gossip rounds of the test's timings)...
			for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
				if refuted() == nil {
					t.Fatal("b refuted with its handler stuck and early refutation off")
				}
			}
			// ...and memberlist refutes once it is free.
			close(release)
			released = true
			wait.For(t, 10*time.Second, refuted)
		})
	}
}

// accusations is a compound message of suspicions of b raised by ghost,
// at incarnations 1 to n.
func accusations(t *testing.T, n int) []byte {
	var msgs [][]byte
	for i := 1; i <= n; i++ {
		msgs = append(msgs, serf.AccusationMessage(t, uint32(i), "b", "ghost"))
	}
	return serf.Compound(msgs...)
}
