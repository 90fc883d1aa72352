package agent

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/wait"
)

// Two clusters with different labels, or one without, never merge: a
// join across them fails, the member joined logs why, and each cluster
// keeps only its own members.
func TestLabelledClustersDoNotMerge(t *testing.T) {
	key := "5K9OtfP7efFrNKe5WCQvXvnaXJ5cWP0SvXiwe0kkjM4="
	for _, tc := range []struct {
		name           string
		label, other   string
		encrypt        bool
		discardedLabel string
	}{
		{"different labels", "blue", "green", false, "green"},
		{"different labels, encrypted", "blue", "green", true, "green"},
		{"unlabelled joins labelled", "blue", "", false, ""},
		{"labelled joins unlabelled", "", "green", false, "green"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			edit := func(label string) func(*Config) {
				return func(c *Config) {
					c.Label = label
					// The local profile's 1s is short for a loaded machine:
					// a read that times out hides the hang-up.
					c.TCPTimeoutRaw = "10s"
					if tc.encrypt {
						c.EncryptKey = key
					}
				}
			}
			a1, logs := startDaemon(t, daemonConfig(t, "a1", edit(tc.label)))
			a2, _ := startDaemon(t, daemonConfig(t, "a2", edit(tc.label)))
			b1, _ := startDaemon(t, daemonConfig(t, "b1", edit(tc.other)))
			if _, err := a2.Join([]string{a1.BindAddr().String()}, false); err != nil {
				t.Fatalf("a2 Join(a1) error: %v", err)
			}

			n, err := b1.Join([]string{a1.BindAddr().String()}, false)
			if err == nil || n != 0 {
				t.Fatalf("b1 Join(a1) = %d, %v; want 0 and an error", n, err)
			}
			own := "none"
			if tc.other != "" {
				own = fmt.Sprintf("%q", tc.other)
			}
			if hint := fmt.Sprintf("(%s; this agent's label: %s)", labelJoinHint, own); !strings.HasSuffix(err.Error(), hint) {
				t.Errorf("b1 Join(a1) error = %q, want it to end in %q", err, hint)
			}
			want := fmt.Sprintf("discarding stream with unacceptable label %q", tc.discardedLabel)
			wait.For(t, 5*time.Second, func() error {
				if !strings.Contains(logs.String(), want) {
					return fmt.Errorf("a1's log has no %q", want)
				}
				return nil
			})
			for _, a := range []*Agent{a1, a2, b1} {
				var names []string
				for _, m := range a.Serf().Members() {
					names = append(names, m.Name)
				}
				wantNames := []string{"a1", "a2"}
				if a == b1 {
					wantNames = []string{"b1"}
				}
				if !sameNames(names, wantNames) {
					t.Errorf("%s Members() = %v, want %v", a.Serf().LocalMember().Name, names, wantNames)
				}
			}
		})
	}
}

// sameNames reports whether got holds exactly the names in want, in any
// order.
func sameNames(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	seen := map[string]bool{}
	for _, n := range got {
		seen[n] = true
	}
	for _, n := range want {
		if !seen[n] {
			return false
		}
	}
	return true
}

// A reload cannot change the label, the encryption checks or the
// allow-lists: it keeps them, says so, and applies the rest.
func TestReloadKeepsRestartOnlyKeys(t *testing.T) {
	conf := daemonConfig(t, "r1", func(c *Config) { c.Label = "blue" })
	a, logs := startDaemon(t, conf)
	next := MergeConfig(conf, &Config{
		Label:                 "green",
		EncryptVerifyIncoming: valuePtr(false),
		RPCAllowedCIDRs:       []string{"10.0.0.0/8"},
		Tags:                  map[string]string{"role": "web"},
	})
	if err := a.Reload(next); err != nil {
		t.Fatalf("Reload() error: %v", err)
	}
	want := "[WARN] agent: Reload cannot change label, encrypt_verify_incoming, rpc_allowed_cidrs; restart the agent for that"
	if !strings.Contains(logs.String(), want) {
		t.Errorf("log has no %q:\n%s", want, logs.String())
	}
	if got := a.Serf().LocalMember().Tags["role"]; got != "web" {
		t.Errorf("tag role = %q after reload, want web", got)
	}
	a.reloadLock.Lock()
	inForce := a.conf
	a.reloadLock.Unlock()
	if inForce.Label != "blue" || !isTrue(inForce.EncryptVerifyIncoming) || inForce.RPCAllowedCIDRs != nil {
		t.Errorf("configuration in force after reload: label %q, encrypt_verify_incoming %v, rpc_allowed_cidrs %v; "+
			"want blue, true, none", inForce.Label, isTrue(inForce.EncryptVerifyIncoming), inForce.RPCAllowedCIDRs)
	}
	if got := a.SerfConfig().MemberlistConfig.Label; got != "blue" {
		t.Errorf("memberlist Label = %q after reload, want blue", got)
	}
}

// Only a hang-up gets the label hint.
func TestExplainJoin(t *testing.T) {
	eof := errors.New("1 error occurred:\n\t* failed to join 10.0.0.1:7946: EOF\n\n")
	reset := errors.New("1 error occurred:\n\t* failed to join 10.0.0.1:7946: read tcp 10.0.0.2:5->10.0.0.1:7946: read: connection reset by peer\n\n")
	refused := errors.New("1 error occurred:\n\t* failed to join 10.0.0.1:7946: dial tcp 10.0.0.1:7946: connect: connection refused\n\n")
	if err := explainJoin(nil, "blue"); err != nil {
		t.Errorf("explainJoin(nil) = %v, want nil", err)
	}
	if err := explainJoin(refused, "blue"); err != refused {
		t.Errorf("explainJoin(refused) = %v, want it unchanged", err)
	}
	for _, tc := range []struct {
		err   error
		label string
		want  string
	}{
		{eof, "blue", "1 error occurred:\n\t* failed to join 10.0.0.1:7946: EOF (" + labelJoinHint + `; this agent's label: "blue")`},
		{reset, "", "1 error occurred:\n\t* failed to join 10.0.0.1:7946: read tcp 10.0.0.2:5->10.0.0.1:7946: read: connection reset by peer (" +
			labelJoinHint + "; this agent's label: none)"},
	} {
		err := explainJoin(tc.err, tc.label)
		if err == nil || err.Error() != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("explainJoin(%q, %q) = %q, want %q wrapping the error", tc.err, tc.label, err, tc.want)
		}
	}
}

// With gossip_allowed_cidrs, a member from another network is refused:
// the node never lists it, however it learns of it.
func TestGossipAllowList(t *testing.T) {
	a2conf := daemonConfig(t, "a2", nil)
	a3conf := daemonConfig(t, "a3", nil)
	host := func(addr string) string {
		h, _, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	// Streams come from 127.0.0.1, whatever the bind address: the dial is
	// not bound. Members are still checked by the address they announce.
	a1conf := daemonConfig(t, "a1", func(c *Config) {
		c.GossipAllowedCIDRs = []string{host(c.BindAddr) + "/32", host(a2conf.BindAddr) + "/32", "127.0.0.1/32"}
	})
	a1, logs := startDaemon(t, a1conf)
	a2, _ := startDaemon(t, a2conf)
	a3, _ := startDaemon(t, a3conf)
	if _, err := a2.Join([]string{a1.BindAddr().String()}, false); err != nil {
		t.Fatalf("a2 Join(a1) error: %v", err)
	}
	// a3 reaches a1 directly and through a2, which allows everyone.
	_, _ = a3.Join([]string{a1.BindAddr().String()}, false)
	if _, err := a3.Join([]string{a2.BindAddr().String()}, false); err != nil {
		t.Fatalf("a3 Join(a2) error: %v", err)
	}
	want := fmt.Sprintf("[WARN] memberlist: Rejected node a3 (%s)", host(a3conf.BindAddr))
	wait.For(t, 10*time.Second, func() error {
		if !strings.Contains(logs.String(), want) {
			return fmt.Errorf("a1's log has no %q", want)
		}
		if st := a2.Serf().Members(); len(st) != 3 {
			return fmt.Errorf("a2 has %d members, want 3", len(st))
		}
		return nil
	})
	for _, m := range a1.Serf().Members() {
		if m.Name == "a3" {
			t.Errorf("a1 lists a3 (%s), which gossip_allowed_cidrs refuses", m.Addr)
		}
	}
}
