// Package scripts_test checks the files in scripts/: the systemd unit,
// the container entry point and the network lab.
package scripts_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/agentproc"
	"github.com/openserf/serf/internal/testutil/cluster"
	"github.com/openserf/serf/internal/testutil/oracle"
	"github.com/openserf/serf/internal/testutil/serfbin"
	"github.com/openserf/serf/internal/testutil/wait"
	"github.com/openserf/serf/serf"
)

func TestMain(m *testing.M) {
	os.Exit(serfbin.Main(m))
}

func TestSystemdUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed (Debian package systemd)")
	}
	unit, err := os.ReadFile("serf.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"EnvironmentFile=-/etc/default/serf", "EnvironmentFile=-/etc/sysconfig/serf",
		"$SERF_AGENT_OPTS", "KillSignal=SIGINT", "Restart=on-failure",
		"Type=notify", "NotifyAccess=main", "ExecReload=/bin/kill -HUP $MAINPID", "WatchdogSec=",
	} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("serf.service lacks %q", want)
		}
	}
	// verify insists that ExecStart's binary exists: point it at a build.
	bin := serfbin.Path(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "serf.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(unit), "/usr/local/bin/serf", bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	if strings.TrimSpace(string(out)) != "" {
		t.Errorf("systemd-analyze verify warned:\n%s", out)
	}
}

// The entry point runs the agent beside the container's command and makes
// it leave gracefully when the command ends: the peer sees "left".
func TestContainerEntryPointLeavesGracefully(t *testing.T) {
	bin := serfbin.Path(t)
	peer := cluster.Start(t, cluster.Config("peer"))

	dir := t.TempDir()
	done := filepath.Join(dir, "done")
	ip := cluster.IP()
	cmd := exec.Command("sh", "entry-point.sh", "sh", "-c", `until [ -f "$DONE" ]; do sleep 0.1; done`)
	cmd.Dir = "docker"
	cmd.Env = append(os.Environ(),
		"SERF_BIN="+bin,
		"SERF_LOG="+filepath.Join(dir, "serf.log"),
		"DONE="+done,
		"SERF_AGENT_OPT=-node=ep -profile=local -bind="+oracle.FreeAddr(t, ip)+
			" -rpc-addr="+oracle.FreeAddr(t, ip)+" -join="+peer.Addr(),
	)
	entry, err := agentproc.StartProcess(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		entry.Kill()
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "serf.log"))
			t.Logf("agent log:\n%s", log)
		}
	})

	cluster.WaitStatus(t, 30*time.Second, []*cluster.Node{peer}, "ep", serf.StatusAlive)
	if err := os.WriteFile(done, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	code, err := entry.Wait(30 * time.Second)
	if err != nil {
		t.Fatalf("entry point did not exit after its command ended: %v", err)
	}
	if code != 0 {
		t.Errorf("entry point exit code = %d, want 0", code)
	}
	cluster.WaitStatus(t, 30*time.Second, []*cluster.Node{peer}, "ep", serf.StatusLeft)
	log, _ := os.ReadFile(filepath.Join(dir, "serf.log"))
	if !strings.Contains(string(log), "==> Gracefully shutting down agent...") {
		t.Errorf("agent log lacks the graceful shutdown:\n%s", log)
	}
}

// netlab drives scripts/netlab.sh for one test's lab.
type netlab struct {
	t      *testing.T
	prefix string   // NETLAB_PREFIX: every namespace name starts with it
	bin    string   // our serf, the agents' binary (SERF)
	env    []string // the script's environment
}

// startNetlab skips unless the multi-host suite runs (SERF_INTEGRATION=1,
// root) and every one of tools is installed. Its lab's names start with
// letter and the process id; env is added to the script's environment.
// The lab is taken down when the test ends; up is the test's.
func startNetlab(t *testing.T, letter string, tools []string, env ...string) *netlab {
	t.Helper()
	if os.Getenv("SERF_INTEGRATION") != "1" {
		t.Skip("runs with SERF_INTEGRATION=1 (make integration)")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	nl := &netlab{t: t, prefix: fmt.Sprintf("%s%d", letter, os.Getpid()%10000), bin: serfbin.Path(t)}
	nl.env = append(append(os.Environ(), "NETLAB_PREFIX="+nl.prefix, "SERF="+nl.bin), env...)
	t.Cleanup(func() {
		_ = nl.command("down").Run()
		os.RemoveAll("/tmp/netlab-" + nl.prefix)
	})
	return nl
}

// command is netlab.sh with args, in the lab's environment.
func (nl *netlab) command(args ...string) *exec.Cmd {
	cmd := exec.Command("./netlab.sh", args...)
	cmd.Env = nl.env
	return cmd
}

// run runs netlab.sh with args and returns its output; the test fails
// when the script does.
func (nl *netlab) run(args ...string) string {
	nl.t.Helper()
	out, err := nl.command(args...).CombinedOutput()
	if err != nil {
		nl.t.Fatalf("netlab.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// aliveMembers is what "serf members -status=alive" prints on host 1,
// empty when it fails.
func (nl *netlab) aliveMembers() string {
	out, _ := nl.command("exec", "1", nl.bin, "members", "-status=alive").Output()
	return string(out)
}

// TestNetlab drives scripts/netlab.sh as the docs show: three hosts, an
// agent on each discovering the others by mDNS, an isolation and its
// heal, and a teardown that leaves no namespace behind. It runs with the
// multi-host suite (SERF_INTEGRATION=1, root).
func TestNetlab(t *testing.T) {
	nl := startNetlab(t, "t", []string{"ip", "nft"})
	lab := nl.run
	lab("up", "3")
	for i := 1; i <= 3; i++ {
		lab("agent", fmt.Sprint(i), "-iface=eth1", "-discover=cluster01")
	}
	alive := func() int { return strings.Count(nl.aliveMembers(), "alive") }
	waitFor := func(what string, want int, timeout time.Duration) {
		t.Helper()
		wait.Every(t, timeout, 100*time.Millisecond, func() error {
			if n := alive(); n != want {
				return fmt.Errorf("%s: host 1 sees %d alive, want %d", what, n, want)
			}
			return nil
		})
	}
	waitFor("discovery", 3, 30*time.Second)
	lab("isolate", "3")
	waitFor("isolation", 2, 30*time.Second)
	lab("heal", "3")
	// Serf's reconnect loop (every 30 s) brings the host back.
	waitFor("heal", 3, 90*time.Second)
	lab("down")
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, nl.prefix) {
			t.Errorf("namespace left after down: %s", line)
		}
	}
}

// TestNetlabIPv6 is TestNetlab's discovery on IPv6-only hosts
// (NETLAB_STACK=v6), with a delay that must hold the IPv6 packets.
func TestNetlabIPv6(t *testing.T) {
	nl := startNetlab(t, "u", []string{"ip", "nft", "ip6tables", "ping"}, "NETLAB_STACK=v6")
	lab, prefix := nl.run, nl.prefix
	if out := lab("up", "2"); !strings.Contains(out, "host 2: namespace "+prefix+"h2, eth1 fd00:99::12/64\n") {
		t.Fatalf("netlab.sh up 2 printed %q", out)
	}
	for i := 1; i <= 2; i++ {
		lab("agent", fmt.Sprint(i), "-iface=eth1", "-discover=cluster01")
	}
	wait.Every(t, 30*time.Second, 100*time.Millisecond, func() error {
		out := nl.aliveMembers()
		if !strings.Contains(out, "[fd00:99::12]:7946") || strings.Count(out, "alive") != 2 {
			return fmt.Errorf("host 1's members: %q, want h1 and h2 at [fd00:99::1x]:7946", out)
		}
		return nil
	})
	lab("delay", "1", "100ms")
	out := lab("exec", "1", "ping", "-6", "-c", "2", "-i", "0.2", "fd00:99::12")
	var min float64
	if i := strings.Index(out, "= "); i < 0 {
		t.Fatalf("ping output: %q", out)
	} else if _, err := fmt.Sscanf(out[i+2:], "%f", &min); err != nil {
		t.Fatalf("ping output %q: %v", out, err)
	}
	if min < 90 {
		t.Errorf("ping with 100 ms delay on host 1: min %.1f ms", min)
	}
	lab("delay", "1", "0")
}
