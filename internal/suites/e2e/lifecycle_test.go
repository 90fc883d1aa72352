package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/agentproc"
	"github.com/openserf/serf/internal/testutil/wait"
)

// TestRPCLeave checks that "serf leave" makes the agent leave and exit 0.
func TestRPCLeave(t *testing.T) {
	t.Parallel()
	n1 := startNode(t, "n1")
	n2 := startNode(t, "n2", "-join="+n1.Bind)
	n1.WaitStatus(eventTimeout, "n2", "alive")
	out := n2.MustCLI("leave")
	if want := "Graceful leave complete\n"; out != want {
		t.Errorf("serf leave printed %q, want %q", out, want)
	}
	if code := n2.WaitExit(exitTimeout); code != 0 {
		t.Errorf("exit code after serf leave = %d, want 0", code)
	}
	if strings.Contains(n2.Output(), serfShutdownWarning) {
		t.Errorf("serf leave made the agent print %q:\n%s", serfShutdownWarning, n2.Output())
	}
	n1.WaitStatus(eventTimeout, "n2", "left")
}

// TestNameConflictEndsAgent starts an agent under the name of a member it
// joins: it loses the name conflict, Serf shuts down underneath it, and
// it warns and exits 0, as Serf's agent does.
func TestNameConflictEndsAgent(t *testing.T) {
	t.Parallel()
	n1 := startNode(t, "n1")
	n2 := startNode(t, "n2", "-join="+n1.Bind)
	n1.WaitStatus(eventTimeout, "n2", "alive")
	dup := startNode(t, "n2", "-join="+n1.Bind)
	if code := dup.WaitExit(failTimeout); code != 0 {
		t.Errorf("exit code after a lost name conflict = %d, want 0", code)
	}
	out := dup.Output()
	for _, want := range []string{
		"[WARN] serf: minority in name conflict resolution, quiting [",
		serfShutdownWarning + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(n2.Output(), serfShutdownWarning) {
		t.Errorf("the member that kept its name printed %q:\n%s", serfShutdownWarning, n2.Output())
	}
}

// TestSnapshotRejoin kills an agent that keeps a snapshot and starts it
// again without -join: it rejoins the members it knew.
func TestSnapshotRejoin(t *testing.T) {
	t.Parallel()
	snap := filepath.Join(t.TempDir(), "snapshot")
	n1 := startNode(t, "n1")
	a2 := newAddrs(t, "n2")
	n2 := startAgentAt(t, serfBin, a2, "-snapshot="+snap, "-join="+n1.Bind)
	n2.WaitRunning()
	n1.WaitStatus(eventTimeout, "n2", "alive")
	// The snapshot is written in the background; wait until it has n1.
	waitFileContains(t, snap, "alive: n1 "+n1.Bind, eventTimeout)

	n2.Kill()
	n1.WaitStatus(failTimeout, "n2", "failed")

	again := startAgentAt(t, serfBin, a2, "-snapshot="+snap)
	again.WaitRunning()
	again.WaitOutput(eventTimeout, "[INFO] serf: Re-joined to previously known node: n1: "+n1.Bind)
	n1.WaitStatus(failTimeout, "n2", "alive")
	again.WaitMembers(eventTimeout, map[string]string{"n1": "alive", "n2": "alive"})
}

// waitFileContains waits until the file at path contains want.
func waitFileContains(t *testing.T, path, want string, timeout time.Duration) {
	t.Helper()
	var data []byte
	err := wait.Until(timeout, func() error {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			return err
		}
		if !strings.Contains(string(data), want) {
			return fmt.Errorf("%s lacks %q", filepath.Base(path), want)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%v; it holds:\n%s", err, data)
	}
}

// TestEncryptedCluster joins agents that share a key, and checks that an
// agent with another key or none cannot join them.
func TestEncryptedCluster(t *testing.T) {
	t.Parallel()
	const (
		key   = "8VS/gSYks6mz1iIWYg//PM0K+SDxydb+v1gvFWUWy14="
		other = "Q2FsbCBtZSBJc2htYWVsLiBTb21lIHllYXJzIGFnbyE="
	)
	n1 := startNode(t, "n1", "-encrypt="+key)
	n2 := startNode(t, "n2", "-encrypt="+key, "-join="+n1.Bind)
	for _, p := range []*agentProc{n1, n2} {
		if !strings.Contains(p.Output(), "                      Encrypted: true\n") {
			t.Errorf("%s banner does not say Encrypted: true:\n%s", p.Name, p.Output())
		}
	}
	n1.WaitMembers(eventTimeout, map[string]string{"n1": "alive", "n2": "alive"})

	for _, c := range []struct{ name, flag string }{
		{"wrong-key", "-encrypt=" + other},
		{"no-key", "-log-level=info"},
	} {
		p := startAgentAt(t, serfBin, newAddrs(t, c.name), c.flag, "-join="+n1.Bind)
		if code := p.WaitExit(exitTimeout); code != 1 {
			t.Errorf("%s: exit code = %d, want 1", c.name, code)
		}
		if !strings.Contains(p.Output(), "==> 1 error occurred:\n\t* failed to join "+n1.Bind) {
			t.Errorf("%s: no join error:\n%s", c.name, p.Output())
		}
	}
	n1.WaitMembers(eventTimeout, map[string]string{"n1": "alive", "n2": "alive"})
}

// TestHandlerEnvironment checks what a "*" handler and a relative script
// get: the agent's environment and working directory, SERF_* variables
// that override inherited ones, and every kind of event.
func TestHandlerEnvironment(t *testing.T) {
	t.Parallel()
	work := t.TempDir()
	events := filepath.Join(work, "events.log")
	writeScript(t, work, "handler.sh", fmt.Sprintf(
		"echo \"$SERF_EVENT $SERF_USER_EVENT$SERF_QUERY_NAME E2E_FOO=$E2E_FOO PWD=$(pwd)\" >> %s\n", events))
	a := newAddrs(t, "n1")
	p := spawnIn(t, serfBin, work, []string{"E2E_FOO=bar", "SERF_EVENT=inherited"},
		append(a.args(), "-profile=local", "-event-handler=./handler.sh")...)
	p.addrs = a
	p.WaitRunning()
	want := []string{fmt.Sprintf("member-join  E2E_FOO=bar PWD=%s", work)}
	if got := waitLines(t, events, 1, eventTimeout); !slices.Equal(got, want) {
		t.Fatalf("events.log = %q, want %q", got, want)
	}

	p.MustCLI("event", "-coalesce=false", "deploy")
	want = append(want, fmt.Sprintf("user deploy E2E_FOO=bar PWD=%s", work))
	if got := waitLines(t, events, 2, eventTimeout); !slices.Equal(got, want) {
		t.Fatalf("events.log = %q, want %q", got, want)
	}
	p.MustCLI("query", "-timeout=5s", "ping")
	want = append(want, fmt.Sprintf("query ping E2E_FOO=bar PWD=%s", work))
	if got := waitLines(t, events, 3, eventTimeout); !slices.Equal(got, want) {
		t.Fatalf("events.log = %q, want %q", got, want)
	}
}

// TestReloadConfigTags changes a tag in the config file and sends SIGHUP:
// the peer sees the new tag and runs its member-update handler.
func TestReloadConfigTags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	updates := filepath.Join(dir, "updates")
	n1 := startNode(t, "n1", "-event-handler", "member-update=cat >> "+updates)
	conf := filepath.Join(dir, "n2.json")
	writeFile(t, conf, `{"tags": {"role": "web", "version": "1"}}`)
	n2 := startNode(t, "n2", "-config-file="+conf, "-join="+n1.Bind)
	n1.WaitStatus(eventTimeout, "n2", "alive")

	writeFile(t, conf, `{"tags": {"role": "web", "version": "2"}}`)
	hangup(t, n2)
	want := []string{"n2\t" + n2.IP + "\tweb\trole=web,version=2"}
	if got := waitLines(t, updates, 1, eventTimeout); !slices.Equal(got, want) {
		t.Errorf("member-update stdin = %q, want %q", got, want)
	}
	ms := n1.WaitMembers(eventTimeout, map[string]string{"n1": "alive", "n2": "alive"})
	for _, m := range ms {
		if m.Name == "n2" && !mapsEqual(m.Tags, map[string]string{"role": "web", "version": "2"}) {
			t.Errorf("n1 sees n2 with tags %v, want role=web version=2", m.Tags)
		}
	}
}

// TestReplayOnJoin checks -replay: an agent joining with it runs the
// handler for a user event sent before it joined; one without does not.
func TestReplayOnJoin(t *testing.T) {
	t.Parallel()
	n1 := startNode(t, "n1")
	n1.MustCLI("event", "-coalesce=false", "deploy", "before")
	logs := map[string]string{}
	nodes := map[string]*agentProc{}
	// The agent without -replay joins first: the one with it passes the
	// old event on as it joins, and an agent still joining could take
	// that for news (in Serf too).
	for _, c := range []struct{ name, flag string }{{"noreplay", "-log-level=info"}, {"replay", "-replay"}} {
		logs[c.name] = filepath.Join(t.TempDir(), "deploy.log")
		nodes[c.name] = startNode(t, c.name, c.flag, "-join="+n1.Bind,
			"-event-handler", "user:deploy=cat >> "+logs[c.name])
	}
	// A second event, after both joined, marks the end of what each got.
	n1.WaitMembers(eventTimeout, map[string]string{"n1": "alive", "replay": "alive", "noreplay": "alive"})
	n1.MustCLI("event", "-coalesce=false", "deploy", "after")
	if got, want := waitLines(t, logs["replay"], 2, eventTimeout), []string{"before", "after"}; !slices.Equal(got, want) {
		t.Errorf("with -replay the handler got %q, want %q", got, want)
	}
	if got, want := waitLines(t, logs["noreplay"], 1, eventTimeout), []string{"after"}; !slices.Equal(got, want) {
		t.Errorf("without -replay the handler got %q, want %q", got, want)
	}
	if !strings.Contains(nodes["replay"].Output(), "==> Joining cluster...(replay: true)\n") {
		t.Errorf("replay agent output lacks the replay: true join line")
	}
}

// TestSeedContainerEntryPoint runs the second article's container entry
// point: the agent in the background with its output in a log file, the
// container's command, then "kill -s SIGINT" and "sleep 3". The peer sees
// the agent join and then leave (not fail). The agent finds the peer with
// mDNS when multicast on lo works, else it is given -join.
func TestSeedContainerEntryPoint(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	peerFlags := []string{}
	discover := []string{}
	if multicastProbe() == nil {
		cluster := mdnsCluster()
		peerFlags = []string{"-discover=" + cluster, "-mdns-iface=lo", "-mdns-disable-ipv6"}
		discover = peerFlags
	}
	peer := startNode(t, "peer", peerFlags...)
	if len(discover) == 0 {
		discover = []string{"-join=" + peer.Bind}
	}
	a := newAddrs(t, "container1")
	logFile := filepath.Join(dir, "serf.log")
	goFile := filepath.Join(dir, "go")
	entry := writeScript(t, dir, "entry-point.sh", fmt.Sprintf(`set -e
SERF_AGENT_OPT="%s"
%s agent $SERF_AGENT_OPT > %s &
SERF_PID=$!
"$@"
test -n "$SERF_PID" && kill -s INT $SERF_PID && sleep 3
wait $SERF_PID
`, strings.Join(append(a.args(), append([]string{"-profile=local"}, discover...)...), " "), serfBin, logFile))
	// The container's command waits for the test to let it finish.
	cmd := exec.Command(entry, "sh", "-c", fmt.Sprintf("while [ ! -e %s ]; do sleep 0.1; done", goFile))
	cmd.Env = agentproc.Env()
	// A file, not a pipe, takes the script's output: Wait need not wait
	// for every process that inherited it.
	outPath := filepath.Join(dir, "entry-point.out")
	outFile, err := os.Create(outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer outFile.Close()
	cmd.Stdout, cmd.Stderr = outFile, outFile
	agentproc.SetDeathSignal(cmd, true)
	script, err := agentproc.StartProcess(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The script, its command and the agent it started.
		_ = script.SignalGroup(syscall.SIGKILL)
		<-script.Exited()
		if t.Failed() {
			data, _ := os.ReadFile(outPath)
			agentLog, _ := os.ReadFile(logFile)
			t.Logf("entry point output:\n%s\nserf.log:\n%s", data, agentLog)
		}
	})

	peer.WaitStatus(startTimeout, "container1", "alive")
	writeFile(t, goFile, "")
	peer.WaitStatus(eventTimeout, "container1", "left")
	code, err := script.Wait(exitTimeout)
	if err != nil {
		t.Fatalf("entry point did not finish: %v", err)
	}
	if code != 0 {
		t.Errorf("entry point exit code = %d, want 0", code)
	}
	data, _ := os.ReadFile(logFile)
	for _, want := range []string{"==> Serf agent running!\n", "==> Caught signal: interrupt\n", "==> Gracefully shutting down agent...\n"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("serf.log lacks %q:\n%s", want, data)
		}
	}
}

// TestMemberReapHandler checks that a member-reap handler runs once a
// failed member is reaped (reconnect_timeout 1s; the agent looks every
// 15 s, as Serf's does).
func TestMemberReapHandler(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	conf := filepath.Join(dir, "serf.json")
	writeFile(t, conf, `{"reconnect_timeout": "1s"}`)
	reaped := filepath.Join(dir, "reaped")
	n1 := startNode(t, "n1", "-config-file="+conf, "-event-handler", "member-reap=cat >> "+reaped)
	n2 := startNode(t, "n2", "-join="+n1.Bind, "-tag", "role=db")
	n1.WaitStatus(eventTimeout, "n2", "alive")
	n2.Kill()
	n1.WaitStatus(failTimeout, "n2", "failed")
	want := []string{"n2\t" + n2.IP + "\tdb\trole=db"}
	if got := waitLines(t, reaped, 1, 15*time.Second+eventTimeout); !slices.Equal(got, want) {
		t.Errorf("member-reap stdin = %q, want %q", got, want)
	}
	n1.WaitOutput(eventTimeout, "[INFO] serf: EventMemberReap: n2\n")
	n1.WaitMembers(eventTimeout, map[string]string{"n1": "alive"})
}

// processesMentioning returns the command lines in /proc that contain s.
func processesMentioning(s string) []string {
	var found []string
	paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil || len(data) == 0 {
			continue
		}
		if cmdline := strings.ReplaceAll(string(data), "\x00", " "); strings.Contains(cmdline, s) {
			found = append(found, strings.TrimSpace(cmdline))
		}
	}
	return found
}

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
