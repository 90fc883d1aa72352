package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serfShutdownWarning is what an agent prints when Serf shut down
// underneath it (a lost name conflict).
const serfShutdownWarning = "[WARN] agent: Serf shutdown detected, quitting"

// TestShutdownSignals stops one of two agents in each way an operator or
// a container runtime does, and checks its output and exit code and what
// its peer sees and runs: a graceful leave for SIGINT (Ctrl-C, systemd's
// KillSignal=SIGINT, the second article's "kill -s SIGINT") and for
// SIGTERM with leave_on_terminate, a failure for plain SIGTERM and for
// kill -9.
func TestShutdownSignals(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name        string
		sig         syscall.Signal
		config      string // config file for the stopped agent, if any
		wantCode    int
		wantOutput  []string
		graceful    bool
		peerStatus  string
		peerHandler string
	}{
		{
			name:     "SIGINT",
			sig:      syscall.SIGINT,
			wantCode: 0,
			wantOutput: []string{
				"==> Caught signal: interrupt\n",
				"==> Gracefully shutting down agent...\n",
				"[INFO] agent: requesting graceful leave from Serf\n",
			},
			graceful:    true,
			peerStatus:  "left",
			peerHandler: "member-leave",
		},
		{
			name:        "SIGTERM",
			sig:         syscall.SIGTERM,
			wantCode:    1,
			wantOutput:  []string{"==> Caught signal: terminated\n", "[WARN] serf: Shutdown without a Leave\n"},
			peerStatus:  "failed",
			peerHandler: "member-failed",
		},
		{
			name:     "SIGTERM leave_on_terminate",
			sig:      syscall.SIGTERM,
			config:   `{"leave_on_terminate": true}`,
			wantCode: 0,
			wantOutput: []string{
				"==> Caught signal: terminated\n",
				"==> Gracefully shutting down agent...\n",
			},
			graceful:    true,
			peerStatus:  "left",
			peerHandler: "member-leave",
		},
		{
			name:        "SIGKILL",
			sig:         syscall.SIGKILL,
			wantCode:    -1,
			peerStatus:  "failed",
			peerHandler: "member-failed",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			peer := startNode(t, "peer",
				"-event-handler", "member-leave=cat >> "+filepath.Join(dir, "member-leave"),
				"-event-handler", "member-failed=cat >> "+filepath.Join(dir, "member-failed"))
			args := []string{"-join=" + peer.Bind}
			if c.config != "" {
				path := filepath.Join(dir, "agent.json")
				writeFile(t, path, c.config)
				args = append(args, "-config-file="+path)
			}
			p := startNode(t, "victim", args...)
			peer.WaitStatus(eventTimeout, "victim", "alive")

			mark := p.Mark()
			start := time.Now()
			p.Signal(c.sig)
			if code := p.WaitExit(exitTimeout); code != c.wantCode {
				t.Errorf("exit code = %d, want %d; output:\n%s", code, c.wantCode, p.Output())
			}
			if c.graceful {
				// The container entry point of the second article waits
				// 3 s after its SIGINT.
				if d := time.Since(start); d > 3*time.Second {
					t.Errorf("graceful shutdown took %v, want at most 3s", d)
				}
			}
			out := p.Since(mark)
			for _, want := range c.wantOutput {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			if !c.graceful && strings.Contains(out, "Gracefully shutting down") {
				t.Errorf("%v shut down gracefully:\n%s", c.sig, out)
			}
			// Serf warns only when Serf stopped under the agent, not
			// when a signal stops both.
			if strings.Contains(out, serfShutdownWarning) {
				t.Errorf("%v printed %q:\n%s", c.sig, serfShutdownWarning, out)
			}

			peer.WaitStatus(failTimeout, "victim", c.peerStatus)
			want := []string{"victim\t" + p.IP + "\t\t"}
			if got := waitLines(t, filepath.Join(dir, c.peerHandler), 1, eventTimeout); !slices.Equal(got, want) {
				t.Errorf("peer's %s handler stdin = %q, want %q", c.peerHandler, got, want)
			}
			other := "member-failed"
			if c.peerHandler == other {
				other = "member-leave"
			}
			if got := readLines(filepath.Join(dir, other)); len(got) != 0 {
				t.Errorf("peer's %s handler ran too: %q", other, got)
			}
		})
	}
}

// reloadConfig writes an agent config file with these handlers and log
// level.
func reloadConfig(t *testing.T, path, level string, handlers ...string) {
	t.Helper()
	data, err := json.Marshal(map[string]any{"log_level": level, "event_handlers": handlers})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, string(data))
}

// hangup sends SIGHUP twice and waits for the second "Reloading
// configuration..." line: the agent handles signals one at a time, so the
// first reload is then complete.
func hangup(t *testing.T, p *agentProc) {
	t.Helper()
	p.WaitSignalReady()
	for range 2 {
		mark := p.Mark()
		p.Signal(syscall.SIGHUP)
		p.WaitSince(mark, eventTimeout, "==> Caught signal: hangup\n==> Reloading configuration...\n")
	}
}

// TestReloadHandlersAndLogLevel rewrites the config file and sends SIGHUP:
// the new handler runs instead of the old one, and DEBUG lines come and
// go with log_level.
func TestReloadHandlersAndLogLevel(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	conf := filepath.Join(dir, "serf.json")
	log := filepath.Join(dir, "deploy.log")
	oldHandler := "user:deploy=echo old >> " + log
	newHandler := "user:deploy=echo new >> " + log
	reloadConfig(t, conf, "info", oldHandler)
	p := startNode(t, "n1", "-config-file="+conf)
	const debugLine = "[DEBUG] agent: Event 'user' script output: "

	deploy := func(want ...string) {
		t.Helper()
		p.MustCLI("event", "-coalesce=false", "deploy")
		if got := waitLines(t, log, len(want), eventTimeout); !slices.Equal(got, want) {
			t.Fatalf("deploy.log = %q, want %q", got, want)
		}
	}
	deploy("old")
	if strings.Contains(p.Output(), "[DEBUG]") {
		t.Errorf("DEBUG lines at log_level info:\n%s", p.Output())
	}

	reloadConfig(t, conf, "debug", newHandler)
	hangup(t, p)
	mark := p.Mark()
	deploy("old", "new")
	p.WaitSince(mark, eventTimeout, debugLine)

	reloadConfig(t, conf, "info", newHandler)
	hangup(t, p)
	mark = p.Mark()
	// Handler runs are serial: once the second has written its line, the
	// first has logged its output too, at whatever level was set.
	deploy("old", "new", "new")
	deploy("old", "new", "new", "new")
	if out := p.Since(mark); strings.Contains(out, "[DEBUG]") {
		t.Errorf("DEBUG lines after reloading log_level info:\n%s", out)
	}
}

// TestReloadKeepsRuntimeTags sets a tag with "serf tags" on an agent with
// a tags file and sends SIGHUP: the tag stays, in the cluster and in the
// file. (Serf wipes it: it sets the configured tags, none, on reload.)
func TestReloadKeepsRuntimeTags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tagsFile := filepath.Join(dir, "tags.json")
	conf := filepath.Join(dir, "serf.json")
	writeFile(t, conf, `{"log_level": "info"}`)
	p := startNode(t, "n1", "-tags-file="+tagsFile, "-config-file="+conf)

	out := p.MustCLI("tags", "-set", "a=b")
	if want := "Successfully updated agent tags\n"; out != want {
		t.Errorf("serf tags printed %q, want %q", out, want)
	}
	checkTags := func(when string) {
		t.Helper()
		ms, err := p.Members()
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 1 || !mapsEqual(ms[0].Tags, map[string]string{"a": "b"}) {
			t.Errorf("%s: members = %+v, want n1 with tags a=b", when, ms)
		}
		data, err := os.ReadFile(tagsFile)
		if err != nil {
			t.Fatal(err)
		}
		var tags map[string]string
		if err := json.Unmarshal(data, &tags); err != nil || !mapsEqual(tags, map[string]string{"a": "b"}) {
			t.Errorf("%s: tags file = %q (%v), want {\"a\": \"b\"}", when, data, err)
		}
	}
	checkTags("before SIGHUP")
	hangup(t, p)
	checkTags("after SIGHUP")
	if out := p.Output(); strings.Contains(out, "Failed") {
		t.Errorf("reload failed:\n%s", out)
	}
	// The restored tags survive a restart too.
	p.Signal(syscall.SIGINT)
	if code := p.WaitExit(exitTimeout); code != 0 {
		t.Fatalf("exit code after SIGINT = %d, want 0", code)
	}
	q := startAgentAt(t, serfBin, newAddrs(t, "n1"), "-tags-file="+tagsFile)
	q.WaitRunning()
	q.WaitOutput(eventTimeout, fmt.Sprintf("[INFO] agent: Restored 1 tag(s) from %s\n", tagsFile))
}

// TestReloadRefusesTagsWithTagsFile adds tags to the config file of an
// agent with a tags file and sends SIGHUP: as at start, tags in the
// configuration are refused next to a tags file, and the tags stay. (Serf
// takes the configured tags on reload and writes them to the tags file,
// and then refuses to start with that configuration.)
func TestReloadRefusesTagsWithTagsFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tagsFile := filepath.Join(dir, "tags.json")
	conf := filepath.Join(dir, "serf.json")
	writeFile(t, conf, `{}`)
	p := startNode(t, "n1", "-tags-file="+tagsFile, "-config-file="+conf)
	p.MustCLI("tags", "-set", "a=b")

	writeFile(t, conf, `{"tags": {"x": "y"}}`)
	mark := p.Mark()
	hangup(t, p)
	const refused = "==> Failed to update tags: Tags config not allowed while using tag files\n"
	if out := p.Since(mark); !strings.Contains(out, refused) {
		t.Errorf("reload output lacks %q:\n%s", refused, out)
	}
	ms, err := p.Members()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || !mapsEqual(ms[0].Tags, map[string]string{"a": "b"}) {
		t.Errorf("members = %+v, want n1 with tags a=b", ms)
	}
}
