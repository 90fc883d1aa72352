package serf_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/cluster"
	"github.com/openserf/serf/internal/testutil/wait"
	"github.com/openserf/serf/serf"
)

func TestCoordinatesConverge(t *testing.T) {
	c := cluster.New(t, "co", 3, nil)
	c.WaitConverged(t, timeout)

	// Pings between loopback nodes take microseconds: once every node has
	// exchanged pings with every other, the estimates are small but never
	// zero (each coordinate has a positive height).
	wait.For(t, timeout, func() error {
		for _, a := range c.Nodes {
			self, err := a.Serf.GetCoordinate()
			if err != nil {
				return err
			}
			for _, b := range c.Nodes {
				if a == b {
					continue
				}
				other, ok := a.Serf.GetCachedCoordinate(b.Name)
				if !ok {
					return fmt.Errorf("%s has no coordinate for %s", a.Name, b.Name)
				}
				rtt := self.DistanceTo(other)
				if rtt <= 0 || rtt > 50*time.Millisecond {
					return fmt.Errorf("%s estimates %s at %v, want within (0, 50ms]", a.Name, b.Name, rtt)
				}
				if d := other.Vec; len(d) != 8 {
					return fmt.Errorf("coordinate of %s has %d dimensions, want 8", b.Name, len(d))
				}
			}
		}
		return nil
	})
	if got := c.Nodes[0].Serf.Stats()["coordinate_resets"]; got != "0" {
		t.Errorf("Stats()[coordinate_resets] = %q, want 0", got)
	}

	// A reaped member's coordinate is forgotten.
	victim := c.Nodes[2]
	victim.Shutdown()
	cluster.WaitStatus(t, timeout, c.Nodes[:2], victim.Name, serf.StatusFailed)
	if err := c.Nodes[0].Serf.RemoveFailedNodePrune(victim.Name); err != nil {
		t.Fatalf("RemoveFailedNodePrune() error: %v", err)
	}
	wait.For(t, timeout, func() error {
		if _, ok := c.Nodes[0].Serf.GetCachedCoordinate(victim.Name); ok {
			return fmt.Errorf("coordinate of pruned %s still cached", victim.Name)
		}
		return nil
	})
}

func TestCoordinatesDisabled(t *testing.T) {
	cfg := cluster.Config("nocoord")
	cfg.DisableCoordinates = true
	n := cluster.Start(t, cfg)
	if _, err := n.Serf.GetCoordinate(); err != serf.ErrCoordinatesDisabled {
		t.Errorf("GetCoordinate() error = %v, want ErrCoordinatesDisabled", err)
	}
	if _, ok := n.Serf.Stats()["coordinate_resets"]; ok {
		t.Errorf("Stats() has coordinate_resets with coordinates disabled")
	}
}
