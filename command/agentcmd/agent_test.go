package agentcmd

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/cli"
	"github.com/openserf/serf/client"
	"github.com/openserf/serf/internal/testutil/cluster"
	"github.com/openserf/serf/internal/testutil/notifytest"
	"github.com/openserf/serf/internal/testutil/oracle"
	"github.com/openserf/serf/internal/testutil/wait"
)

// runAgentCommand runs `serf agent args...` in-process; stop ends it like
// Ctrl-C and returns its exit code.
func runAgentCommand(t *testing.T, args ...string) (ui *cli.MockUi, signals chan os.Signal, stop func() int) {
	t.Helper()
	ui = cli.NewMockUi()
	signals = make(chan os.Signal, 4)
	cmd := &AgentCommand{UI: ui, Signals: signals}
	code := make(chan int, 1)
	go func() { code <- cmd.Run(args) }()
	var once bool
	var result int
	stop = func() int {
		if !once {
			once = true
			signals <- os.Interrupt
			select {
			case result = <-code:
			case <-time.After(30 * time.Second):
				t.Fatalf("agent did not stop; output:\n%s", ui.OutputWriter.String())
			}
		}
		return result
	}
	t.Cleanup(func() { stop() })
	return ui, signals, stop
}

// The agent reports Serf's metric names to a statsd sink.
func TestAgentStatsdTelemetry(t *testing.T) {
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	cfg := filepath.Join(t.TempDir(), "telemetry.json")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`{"statsd_addr": %q}`, udp.LocalAddr().String())), 0o644); err != nil {
		t.Fatal(err)
	}
	ip := cluster.IP()
	ui, _, stop := runAgentCommand(t, "-node=tele", "-bind="+oracle.FreeAddr(t, ip),
		"-rpc-addr="+oracle.FreeAddr(t, ip), "-profile=local", "-config-file="+cfg)

	seen := map[string]bool{}
	buf := make([]byte, 65536)
	deadline := time.Now().Add(30 * time.Second)
	for !seen["serf.member.join"] {
		if time.Now().After(deadline) {
			t.Fatalf("no serf.member.join metric; saw %v\n%s", seen, ui.OutputWriter.String())
		}
		_ = udp.SetReadDeadline(time.Now().Add(time.Second))
		n, _, err := udp.ReadFrom(buf)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(buf[:n]), "\n") {
			if name, _, ok := strings.Cut(line, ":"); ok {
				// The host name prefix is on with a sink configured, as in Serf.
				for _, m := range []string{"serf.member.join", "serf.events", "memberlist."} {
					if strings.Contains(name, "serf-agent.") && strings.Contains(name, m) {
						seen[m] = true
					}
				}
			}
		}
	}
	if code := stop(); code != 0 {
		t.Errorf("exit code after interrupt = %d, want 0", code)
	}
}

// SIGTERM without leave_on_terminate exits 1 without leaving; SIGHUP
// reloads and keeps running.
func TestAgentSignals(t *testing.T) {
	ip := cluster.IP()
	ui, signals, stop := runAgentCommand(t, "-node=sig", "-bind="+oracle.FreeAddr(t, ip),
		"-rpc-addr="+oracle.FreeAddr(t, ip), "-profile=local")
	wait.For(t, 20*time.Second, func() error {
		if !strings.Contains(ui.OutputWriter.String(), "Log data will now stream in as it occurs") {
			return fmt.Errorf("agent not up yet")
		}
		return nil
	})
	signals <- syscall.SIGHUP
	wait.For(t, 20*time.Second, func() error {
		if !strings.Contains(ui.OutputWriter.String(), "==> Reloading configuration...") {
			return fmt.Errorf("no reload yet")
		}
		return nil
	})
	signals <- syscall.SIGTERM
	if code := stop(); code != 1 {
		t.Errorf("exit code after SIGTERM = %d, want 1", code)
	}
	out := ui.OutputWriter.String()
	if !strings.Contains(out, "==> Caught signal: terminated") || strings.Contains(out, "Gracefully shutting down") {
		t.Errorf("SIGTERM output:\n%s", out)
	}
}

// With -log-json every log line under the banner is one JSON object from
// its first byte; the banner and the "==>" lines stay text.
func TestAgentLogJSON(t *testing.T) {
	ip := cluster.IP()
	ui, _, stop := runAgentCommand(t, "-node=lj", "-bind="+oracle.FreeAddr(t, ip),
		"-rpc-addr="+oracle.FreeAddr(t, ip), "-profile=local", "-log-json")
	wait.For(t, 20*time.Second, func() error {
		if !strings.Contains(ui.OutputWriter.String(), "\n"+`{"@level":"info","@message":"EventMemberJoin: lj `) {
			return fmt.Errorf("no JSON member-join line yet")
		}
		return nil
	})
	if code := stop(); code != 0 {
		t.Errorf("exit code after interrupt = %d, want 0", code)
	}
	out := ui.OutputWriter.String()
	_, logs, ok := strings.Cut(out, "==> Log data will now stream in as it occurs:\n")
	if !ok {
		t.Fatalf("no banner in output:\n%s", out)
	}
	n := 0
	for _, line := range strings.Split(logs, "\n") {
		if line == "" || strings.HasPrefix(line, "==> ") {
			continue
		}
		var obj map[string]string
		if err := json.Unmarshal([]byte(line), &obj); err != nil || line[0] != '{' {
			t.Errorf("log line %q is not a JSON object from its first byte (%v)", line, err)
			continue
		}
		if obj["@module"] == "" || obj["@timestamp"] == "" {
			t.Errorf("log line %q lacks @module or @timestamp", line)
		}
		n++
	}
	if n < 3 {
		t.Errorf("only %d JSON log lines:\n%s", n, out)
	}
}

// The banner shows the label and encryption checks that are off, only
// when set: Serf's banner has neither.
func TestAgentBannerLabel(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "rollout.json")
	if err := os.WriteFile(cfg, []byte(`{"encrypt_key": "5K9OtfP7efFrNKe5WCQvXvnaXJ5cWP0SvXiwe0kkjM4=",
		"encrypt_verify_outgoing": false}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want []string
		none []string
	}{
		{[]string{"-label=blue", "-config-file=" + cfg},
			[]string{"              Cluster label: 'blue'\n", "        Encryption verified: incoming true, outgoing false\n"}, nil},
		{nil, nil, []string{"Cluster label", "Encryption verified"}},
	} {
		ip := cluster.IP()
		ui, _, stop := runAgentCommand(t, append([]string{"-node=banner", "-bind=" + oracle.FreeAddr(t, ip),
			"-rpc-addr=" + oracle.FreeAddr(t, ip), "-profile=local"}, tc.args...)...)
		wait.For(t, 20*time.Second, func() error {
			if !strings.Contains(ui.OutputWriter.String(), "Log data will now stream in as it occurs") {
				return fmt.Errorf("agent not up yet")
			}
			return nil
		})
		if code := stop(); code != 0 {
			t.Errorf("%v: exit code after interrupt = %d, want 0", tc.args, code)
		}
		banner, _, _ := strings.Cut(ui.OutputWriter.String(), "==> Log data will now stream in")
		for _, w := range tc.want {
			if !strings.Contains(banner, w) {
				t.Errorf("%v: banner has no %q:\n%s", tc.args, w, banner)
			}
		}
		for _, n := range tc.none {
			if strings.Contains(banner, n) {
				t.Errorf("%v: banner has %q:\n%s", tc.args, n, banner)
			}
		}
	}
}

// Under systemd, `serf agent -join` says READY=1 only once the join is
// done, then RELOADING=1 and READY=1 on SIGHUP, and STOPPING=1 as it
// leaves on SIGINT.
func TestAgentNotifiesSystemd(t *testing.T) {
	sd := notifytest.Listen(t, true)
	peer := cluster.Start(t, cluster.Config("peer"))
	ip := cluster.IP()
	rpcAddr := oracle.FreeAddr(t, ip)
	ui, signals, stop := runAgentCommand(t, "-node=sd", "-bind="+oracle.FreeAddr(t, ip),
		"-rpc-addr="+rpcAddr, "-profile=local", "-join="+peer.Addr())

	if got := sd.Next(t, ""); got != "READY=1" {
		t.Fatalf("first datagram = %q, want READY=1\n%s", got, ui.OutputWriter.String())
	}
	c, err := client.NewRPCClient(rpcAddr)
	if err != nil {
		t.Fatalf("NewRPCClient(%s) after READY=1: %v", rpcAddr, err)
	}
	members, err := c.Members()
	c.Close()
	if err != nil || len(members) != 2 {
		t.Fatalf("Members() after READY=1 = %v, %v, want the peer joined already", members, err)
	}

	signals <- syscall.SIGHUP
	if got := sd.Next(t, ""); !strings.HasPrefix(got, "RELOADING=1") {
		t.Fatalf("datagram after SIGHUP = %q, want RELOADING=1", got)
	}
	if got := sd.Next(t, ""); got != "READY=1" {
		t.Fatalf("datagram after RELOADING=1 = %q, want READY=1", got)
	}
	if code := stop(); code != 0 {
		t.Errorf("exit code after interrupt = %d, want 0", code)
	}
	if got := sd.Next(t, ""); got != "STOPPING=1" {
		t.Fatalf("datagram after SIGINT = %q, want STOPPING=1", got)
	}
}

// A start join that fails ends the agent before READY=1: systemd sees a
// failed start, not a service that came up.
func TestAgentFailedJoinIsNotReady(t *testing.T) {
	sd := notifytest.Listen(t, true)
	ip := cluster.IP()
	a := oracle.FreeAddrs(t, ip, 3)
	ui, _, stop := runAgentCommand(t, "-node=sd", "-bind="+a[0],
		"-rpc-addr="+a[1], "-profile=local", "-join="+a[2])
	if got := sd.Next(t, ""); got != "STOPPING=1" {
		t.Fatalf("first datagram = %q, want STOPPING=1 (and no READY=1)\n%s", got, ui.OutputWriter.String())
	}
	if code := stop(); code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
}
