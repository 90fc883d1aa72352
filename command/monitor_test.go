package command

import (
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/cli"
	"github.com/openserf/serf/client"
)

func TestMonitorCommand(t *testing.T) {
	t.Parallel()
	a := startTestAgent(t, testAgentOptions{Name: "a"})

	ui := cli.NewMockUi()
	shutdownCh := make(chan struct{})
	c := build(ui, "monitor", shutdownCh)
	wait := runAsync(c.Run, "-rpc-addr="+a.RPCAddr)

	// The agent replays the lines it kept, so its start is there.
	waitForOutput(t, ui, `(?m)^\S+ \S+ \[INFO\] serf: EventMemberJoin: a 127\.`)
	waitForOutput(t, ui, `\[INFO\] agent\.ipc: Accepted client: 127\.0\.0\.1:\d+\n`)

	cl := a.client(t)
	if err := cl.UserEvent("deploy", []byte("wo"), false); err != nil {
		t.Fatalf("UserEvent() error: %v", err)
	}
	waitForOutput(t, ui, `(?m)^Event Info:\n`+
		`\tCoalesce: false\n`+
		`\tEvent: "user"\n`+
		`\tLTime: (0x[0-9a-f]+|\d+)\n`+
		`\tName: "deploy"\n`+
		`\tPayload: \[\]byte\{0x77, 0x6f\}\n`)

	close(shutdownCh)
	if code := wait(t); code != 0 {
		t.Errorf("Run after interrupt = %d, want 0", code)
	}
	out, errOut := mockText(ui)
	if strings.Contains(out, "Remote side ended") || errOut != "" {
		t.Errorf("interrupted monitor printed %q, error %q; want no end notice and no error", out, errOut)
	}
	if strings.Contains(out, "[DEBUG]") {
		t.Errorf("monitor at INFO printed DEBUG lines:\n%s", out)
	}
}

func TestMonitorCommandLogLevel(t *testing.T) {
	t.Parallel()
	a := startTestAgent(t, testAgentOptions{Name: "a"})
	for _, level := range []string{"debug", "DEBUG", "Trace"} {
		t.Run(level, func(t *testing.T) {
			ui := cli.NewMockUi()
			shutdownCh := make(chan struct{})
			c := build(ui, "monitor", shutdownCh)
			wait := runAsync(c.Run, "-rpc-addr="+a.RPCAddr, "-log-level="+level)
			waitForOutput(t, ui, `\[DEBUG\] `)
			close(shutdownCh)
			if code := wait(t); code != 0 {
				t.Errorf("Run(-log-level=%s) = %d, want 0", level, code)
			}
		})
	}
}

func TestMonitorCommandErrors(t *testing.T) {
	t.Parallel()
	a := startTestAgent(t, testAgentOptions{Name: "a"})
	auth := startTestAgent(t, testAgentOptions{Name: "auth", AuthKey: "secret"})
	dead, connErr := refusedRPCAddr(t)
	badFilter := startFakeAgent(t, answer(client.StreamCommand, func(fc *fakeConn, seq uint64, _ *client.StreamRequest) bool {
		return fc.send(seq, "Invalid event filter", nil) == nil
	}))
	runCases(t, newMonitor, nil, []cmdCase{
		{"no agent", []string{"-rpc-addr=" + dead}, failure(connErr)},
		{"bad level", []string{"-rpc-addr=" + a.RPCAddr, "-log-level=foo"}, failure("Error starting monitor: Unknown log level: FOO")},
		{"stream refused", []string{"-rpc-addr=" + badFilter.addr}, failure("Error starting stream: Invalid event filter")},
		{"no token", []string{"-rpc-addr=" + auth.RPCAddr}, failure("Error starting stream: Authentication required")},
		{"wrong token", []string{"-rpc-addr=" + auth.RPCAddr, "-rpc-auth=x"}, failure(badToken)},
		{"bad flag", []string{"-log-level"}, showsHelp(helpOf("monitor"))},
	})
}

// TestMonitorCommandRemoteEnd checks the requests, that the stream is
// opened before the monitor, and the notice when the agent hangs up.
func TestMonitorCommandRemoteEnd(t *testing.T) {
	t.Parallel()
	var (
		mu  sync.Mutex
		got []string
	)
	record := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, s)
	}
	fa := startFakeAgent(t, func(fc *fakeConn, h client.RequestHeader) bool {
		switch h.Command {
		case client.StreamCommand:
			var req client.StreamRequest
			if fc.body(&req) != nil {
				return false
			}
			record("stream " + req.Type)
			return fc.send(h.Seq, "", nil) == nil
		case client.MonitorCommand:
			var req client.MonitorRequest
			if fc.body(&req) != nil {
				return false
			}
			record("monitor " + req.LogLevel)
			if fc.send(h.Seq, "", nil) != nil {
				return false
			}
			for _, line := range []string{"2026/01/02 03:04:05 [INFO] one", "2026/01/02 03:04:05 [WARN] two"} {
				if fc.send(h.Seq, "", &client.LogRecord{Log: line}) != nil {
					return false
				}
			}
		}
		return false // hang up
	})
	ui := cli.NewMockUi()
	c := build(ui, "monitor", make(chan struct{}))
	code := c.Run([]string{"-rpc-addr=" + fa.addr})
	out, errOut := mockText(ui)
	want := "2026/01/02 03:04:05 [INFO] one\n2026/01/02 03:04:05 [WARN] two\n\n" +
		"Remote side ended the monitor! This usually means that the\nremote side has exited or crashed.\n"
	if code != 1 || out != want || errOut != "" {
		t.Errorf("Run = %d, output %q, error %q; want 1, %q", code, out, errOut, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(got, ", ") != "stream *, monitor INFO" {
		t.Errorf("requests = %q, want stream * then monitor INFO", got)
	}
}

func TestMonitorCommandMemberEvent(t *testing.T) {
	t.Parallel()
	a := startTestAgent(t, testAgentOptions{Name: "a"})
	b := startTestAgent(t, testAgentOptions{Name: "b", Tags: map[string]string{"role": "db"}})
	ui := cli.NewMockUi()
	shutdownCh := make(chan struct{})
	c := build(ui, "monitor", shutdownCh)
	wait := runAsync(c.Run, "-rpc-addr="+a.RPCAddr)
	// The monitor's first lines mean that the stream, opened before it,
	// is in place.
	waitForOutput(t, ui, `agent\.ipc: Accepted client`)
	joinAgents(t, a, b)
	waitForOutput(t, ui, `Event Info:\n\tEvent: "member-join"\n\tMembers: \[\]interface \{\}\{.*"b".*\}\n`)
	close(shutdownCh)
	if code := wait(t); code != 0 {
		t.Errorf("Run after interrupt = %d, want 0", code)
	}
	if out, _ := mockText(ui); regexp.MustCompile(`\[(TRACE|DEBUG)\]`).MatchString(out) {
		t.Errorf("monitor at INFO printed lower levels:\n%s", out)
	}
}
