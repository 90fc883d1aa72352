package multihost

import (
	"fmt"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/wait"
)

// TestEncryptRollout switches a running plaintext cluster of five to
// encryption and back, as docs/operations.md describes: three rolling
// restarts each way, every agent restarted as systemctl restart does
// (SIGINT, a graceful leave; -retry-join brings it back). After every
// single restart all five see exactly each other, alive, and no member is
// ever reported failed. A sixth host, without the key, shows the state
// of the cluster: it cannot join once encryption is enforced and joins
// again at the end.
//
// First, a control: an agent restarted straight into full encryption,
// skipping the steps, is cut off.
func TestEncryptRollout(t *testing.T) {
	requireLab(t)
	const n = 5
	c := NewCluster(t, "er", n+1, ourBin)
	key := keygen(t)
	configs := map[string]string{}
	var agents []*Agent
	for i := 1; i <= n; i++ {
		h := c.Host(i)
		peer := c.Host(1).IP
		if i == 1 {
			peer = c.Host(2).IP
		}
		configs[h.Name] = gossipConfig(t, c, h.Name, `{}`)
		agents = append(agents, c.StartRecorded(h, ourBin, "-retry-join="+peer, "-retry-interval=1s",
			"-config-file="+configs[h.Name]))
	}
	stranger := c.Start(c.Host(n+1), ourBin, "-iface=eth1")
	WaitRPC(t, stranger)
	var worst time.Duration
	// What was under way when, to place a member-failed event.
	type mark struct {
		at   time.Time
		what string
	}
	var marks []mark
	whole := func(step string) {
		t.Helper()
		took := wait.Every(t, 60*time.Second, PollInterval, func() error {
			for _, a := range agents {
				if err := exactly(a, alive(agents, nil)); err != nil {
					return fmt.Errorf("%s: %w", step, err)
				}
			}
			return nil
		})
		t.Logf("%s: all %d alive after %v", step, n, took.Round(time.Millisecond))
		worst = max(worst, took)
	}
	restart := func(a *Agent, conf string) {
		t.Helper()
		gossipConfig(t, c, a.Host.Name, conf)
		marks = append(marks, mark{time.Now(), a.Host.Name + " restarting into " + conf})
		if err := a.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		if code, err := a.Wait(30 * time.Second); err != nil || code != 0 {
			t.Fatalf("%s: exit code %d, %v; want 0", a.Host.Name, code, err)
		}
		// Seen left first, so that alive afterwards is the new run.
		AllSee(t, 30*time.Second, Others(agents, a), "left", a.Host.Name)
		if err := a.Restart(); err != nil {
			t.Fatal(err)
		}
	}
	whole("plaintext")

	// The control: straight to a key with both checks on. The agent
	// cannot rejoin, and the others keep it as left.
	strict := fmt.Sprintf(`{"encrypt_key": %q}`, key)
	cut := agents[n-1]
	restart(cut, strict)
	wait.Every(t, 30*time.Second, PollInterval, func() error {
		if !strings.Contains(cut.Log(), "encryption is configured but remote state is not encrypted") {
			return fmt.Errorf("%s has not yet failed to join", cut.Host.Name)
		}
		return nil
	})
	sees(t, 10*time.Second, Others(agents, cut), alive(Others(agents, cut), map[string]string{cut.Host.Name: "left"}))
	restart(cut, `{}`)
	whole("control undone")
	failedBefore := map[*Agent]int{}
	for _, a := range agents {
		failedBefore[a] = a.CountEvents("member-failed", "")
	}

	for _, phase := range []struct{ name, conf string }{
		{"key, checks off", fmt.Sprintf(`{"encrypt_key": %q, "encrypt_verify_incoming": false, "encrypt_verify_outgoing": false}`, key)},
		{"send encrypted", fmt.Sprintf(`{"encrypt_key": %q, "encrypt_verify_incoming": false, "encrypt_verify_outgoing": true}`, key)},
		{"accept only encrypted", strict},
	} {
		for _, a := range agents {
			restart(a, phase.conf)
			whole(phase.name + ", " + a.Host.Name + " restarted")
		}
	}

	// Encrypted: every member has the key, and one without it is refused.
	out, err := agents[0].CLI("keys", "-list")
	if err != nil || !regexp.MustCompile(regexp.QuoteMeta(key)+`\s+\[5/5\]`).MatchString(out) {
		t.Errorf("keys -list = %q, %v; want %s on 5/5", out, err, key)
	}
	if out, err := stranger.CLI("join", c.Host(1).IP); err == nil || !strings.Contains(err.Error(), "encrypt") {
		t.Errorf("keyless join into the encrypted cluster: %q, %v; want an encryption error", out, err)
	} else {
		t.Logf("keyless join into the encrypted cluster: %v", err)
	}
	whole("keyless agent refused")

	for _, phase := range []struct{ name, conf string }{
		{"accept plaintext", fmt.Sprintf(`{"encrypt_key": %q, "encrypt_verify_incoming": false, "encrypt_verify_outgoing": true}`, key)},
		{"send plaintext", fmt.Sprintf(`{"encrypt_key": %q, "encrypt_verify_incoming": false, "encrypt_verify_outgoing": false}`, key)},
		{"no key", `{}`},
	} {
		for _, a := range agents {
			restart(a, phase.conf)
			whole(phase.name + ", " + a.Host.Name + " restarted")
		}
	}

	// Plaintext again: the keyless agent joins.
	if out, err := stranger.CLI("join", c.Host(1).IP); err != nil {
		t.Fatalf("keyless join into the plaintext cluster: %q, %v", out, err)
	}
	all := append(agents[:n:n], stranger)
	sees(t, 30*time.Second, all, alive(all, nil))

	figure(t, "worst_step_to_whole", worst.Round(time.Millisecond))
	for _, a := range agents {
		if got := a.CountEvents("member-failed", ""); got != failedBefore[a] {
			t.Errorf("%s handled member-failed %d times during the rollout, want none", a.Host.Name, got-failedBefore[a])
			for _, ev := range a.Events() {
				if ev.Name != "member-failed" {
					continue
				}
				during := "before the rollout"
				for _, m := range marks {
					if !m.at.After(ev.Time) {
						during = m.what
					}
				}
				t.Logf("%s: member-failed at %s (%s), after %s", a.Host.Name, ev.Time.Format("15:04:05.000"), ev.Payload, during)
			}
			var lines []string
			for _, l := range strings.Split(a.Log(), "\n") {
				if strings.Contains(l, "Failed") || strings.Contains(l, "uspect") || strings.Contains(l, "dead") || strings.Contains(l, "==== ") {
					lines = append(lines, l)
				}
			}
			t.Logf("%s: its log's failure lines and runs:\n%s", a.Host.Name, strings.Join(lines, "\n"))
		}
	}
}
