package multihost

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/openserf/serf/internal/lab/netns"
)

// tunedConfig is a config file of memberlist's knobs set well below the
// lan profile's: a probe every 200 ms (the profile's is 1 s) and the
// shortest suspicion Serf's formula allows.
const tunedConfig = `{
  "gossip_interval": "100ms",
  "probe_interval": "200ms",
  "probe_timeout": "100ms",
  "suspicion_mult": 2,
  "retransmit_mult": 4,
  "push_pull_interval": "15s"
}`

// TestGossipTuning: three of ours with the tuning keys of tunedConfig
// and two real Serf 0.11.0 agents on the lan profile form one cluster;
// a crashed agent of ours is declared failed by the tuned ones within a
// bound the profile's timings cannot meet (a probe interval of 1 s plus
// a suspicion of at least 4 x max(1, log10(6)) = 4 probe intervals), every member
// then knows it, and a user event still reaches everyone.
func TestGossipTuning(t *testing.T) {
	requireLab(t)
	real11 := oracleBin(t, "v0.11.0")
	c := NewCluster(t, "gt", 6, ourBin)
	conf := filepath.Join(t.TempDir(), "tuned.json")
	if err := os.WriteFile(conf, []byte(tunedConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	bins := []string{ourBin, ourBin, ourBin, ourBin, real11, real11}
	agents, _ := c.StartJoined(30*time.Second, c.StartRecorded, bins, func(i int, _ *netns.Host) []string {
		if bins[i] == ourBin {
			return []string{"-profile=lan", "-config-file=" + conf}
		}
		return []string{"-profile=lan"}
	})

	victim := agents[3]
	tuned, rest := agents[:3], Others(agents, victim)
	if err := victim.Kill(); err != nil {
		t.Fatal(err)
	}
	detect := AllSee(t, 30*time.Second, tuned, "failed", victim.Host.Name)
	figure(t, "tuned_detect_kill9", detect.Round(time.Millisecond))
	// The lan profile needs 5 s at least: up to 1 s to the probe, then
	// a suspicion of 4 s at the shortest.
	if floor := 4 * time.Second; detect >= floor {
		t.Errorf("the tuned agents took %v to declare the crash, no better than the lan profile's floor %v", detect, floor)
	}
	AllSee(t, 30*time.Second, rest, "failed", victim.Host.Name)

	if _, err := agents[4].RunBin(real11, "event", "tuned", "v1"); err != nil {
		t.Fatal(err)
	}
	AllHandled(t, 30*time.Second, rest, "user:tuned", "v1")
}
