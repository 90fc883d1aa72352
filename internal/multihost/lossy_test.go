package multihost

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// lossyDuration is how long TestLossyNetwork keeps the links bad;
// SERF_LOSSY_DURATION (a Go duration) overrides the two minutes.
func lossyDuration(t *testing.T) time.Duration {
	d := 2 * time.Minute
	if s := os.Getenv("SERF_LOSSY_DURATION"); s != "" {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			t.Fatalf("SERF_LOSSY_DURATION: %v", err)
		}
	}
	return d
}

// TestLossyNetwork makes every link lose 20% of its packets and delay the
// rest by 50 ms (each host drops and delays what leaves it) for two
// minutes, while user events flow. Every event reaches every host's
// handler, and no member is declared failed: with the lan profile a
// probe fails only when the direct ping, all three indirect pings and
// the TCP fallback all fail (about 4% of probes here), and a suspicion
// then still has 4-24 s to be refuted by a node that is in fact alive.
func TestLossyNetwork(t *testing.T) {
	requireLab(t)
	c := NewCluster(t, "ls", 5, ourBin)
	agents := startRecorded(t, c, 5)

	for _, h := range c.Lab.Hosts() {
		if err := h.SetLoss(20); err != nil {
			t.Fatal(err)
		}
		if err := h.SetDelay(50*time.Millisecond, 5*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	// The links really are slow: ping across one takes two delays.
	out, err := c.Host(1).Run("ping", "-c", "5", "-i", "0.2", "-q", c.Host(2).IP)
	if err != nil && !strings.Contains(out, "rtt") {
		t.Fatalf("ping over the lossy link: %v", err)
	}
	figure(t, "ping", lastLine(out))

	window := lossyDuration(t)
	end := time.Now().Add(window)
	sent, notAlive := 0, 0
	nextEvent := time.Now()
	for time.Now().Before(end) {
		if !time.Now().Before(nextEvent) {
			from := agents[sent%len(agents)]
			if _, err := from.CLI("event", "-coalesce=false", "tick", fmt.Sprintf("n%03d", sent)); err != nil {
				t.Fatal(err)
			}
			sent++
			nextEvent = time.Now().Add(time.Second)
		}
		for _, o := range agents {
			st, err := o.Statuses()
			if err != nil {
				t.Fatal(err)
			}
			for name, s := range st {
				if s != "alive" {
					notAlive++
					t.Logf("%s sees %s %s", o.Host.Name, name, s)
				}
			}
		}
		time.Sleep(5 * PollInterval)
	}
	figure(t, "events_sent", sent)

	// Every event reaches every handler, exactly once.
	took := Until(t, 60*time.Second, "every event everywhere", func() error {
		for _, o := range agents {
			for i := 0; i < sent; i++ {
				if n := o.CountEvents("user:tick", fmt.Sprintf("n%03d", i)); n != 1 {
					return fmt.Errorf("%s handled event n%03d %d times", o.Host.Name, i, n)
				}
			}
		}
		return nil
	})
	figure(t, "last_events_settled_after", took.Round(time.Millisecond))

	suspicions, failures := 0, 0
	for _, o := range agents {
		suspicions += strings.Count(o.Log(), "memberlist: Suspect ")
		failures += o.CountEvents("member-failed", "")
	}
	figure(t, "suspicions", suspicions)
	figure(t, "member_failed_events", failures)
	if failures > 0 || notAlive > 0 {
		t.Errorf("false failures under loss: %d member-failed events, %d non-alive sightings", failures, notAlive)
	}
	for _, h := range c.Lab.Hosts() {
		if s, ok := h.DelayStats(); ok {
			figure(t, "delayed_packets_"+h.Name, s)
		}
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
