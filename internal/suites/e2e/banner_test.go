package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/oracle"
)

// logLine is a log line as the agent prints it: four spaces, Go's
// LstdFlags time, "[LEVEL] subsystem: message".
var logLine = regexp.MustCompile(`^    (\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) \[(TRACE|DEBUG|INFO|WARN|ERR)\] ([a-z][a-z.]*): (\S.*)$`)

// banner returns the output up to and including the blank line after the
// log marker, and the log lines after it (the last one only if complete).
func banner(t *testing.T, out string) (head string, logs []string) {
	t.Helper()
	i := strings.Index(out, logMarker+"\n\n")
	if i < 0 {
		t.Fatalf("no %q in output:\n%s", logMarker, out)
	}
	head, rest := out[:i+len(logMarker)+2], out[i+len(logMarker)+2:]
	rest = rest[:strings.LastIndexByte(rest, '\n')+1]
	for line := range strings.Lines(rest) {
		logs = append(logs, strings.TrimSuffix(line, "\n"))
	}
	return head, logs
}

// checkLogLines checks that every line is a well-formed log line from the
// last minute, and that want appear in order (with the time stripped).
func checkLogLines(t *testing.T, name string, logs []string, want []string) {
	t.Helper()
	var messages []string
	for _, line := range logs {
		m := logLine.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("%s: log line %q is not \"    YYYY/MM/DD HH:MM:SS [LEVEL] subsystem: message\"", name, line)
			continue
		}
		ts, err := time.ParseInLocation("2006/01/02 15:04:05", m[1], time.Local)
		if err != nil || time.Since(ts) > time.Minute || time.Until(ts) > time.Second {
			t.Errorf("%s: log line %q: time %s is not now (%v)", name, line, m[1], err)
		}
		messages = append(messages, fmt.Sprintf("[%s] %s: %s", m[2], m[3], m[4]))
	}
	next := 0
	for _, msg := range messages {
		if next < len(want) && msg == want[next] {
			next++
		}
	}
	if next < len(want) {
		t.Errorf("%s: log lacks %q (in this order) after %q; log:\n%s",
			name, want[next], want[:next], strings.Join(messages, "\n"))
	}
}

// TestBannerAsInSeed starts two agents the way the second seed article
// does, "serf agent -iface=eth1" and then "serf agent -iface=eth1
// -join=<first>", with lo for eth1, and checks the banner and the first
// log lines. The article shows an older Serf whose labels are padded
// less and that has no compression line; ours prints Serf 0.11's.
func TestBannerAsInSeed(t *testing.T) {
	t.Parallel()
	ports := oracle.FreePorts(t, "127.0.0.1", 4)
	bind := func(i int) string { return "127.0.0.1:" + strconv.Itoa(ports[i]) }
	first := spawn(t, serfBin, "-iface=lo", "-bind=0.0.0.0:"+strconv.Itoa(ports[0]), "-rpc-addr="+bind(1), "-node=centos10")
	first.Name = "centos10"
	first.WaitOutput(startTimeout, "[INFO] agent: Received event: member-join\n")

	wantHead := func(node string, bindAddr, rpc string, join bool) string {
		s := "==> Using interface 'lo' address '127.0.0.1'\n" +
			"==> Starting Serf agent...\n" +
			"==> Starting Serf agent RPC...\n" +
			"==> Serf agent running!\n" +
			"                      Node name: '" + node + "'\n" +
			"                      Bind addr: '" + bindAddr + "'\n" +
			"                       RPC addr: '" + rpc + "'\n" +
			"                      Encrypted: false\n" +
			"                       Snapshot: false\n" +
			"                        Profile: lan\n" +
			"    Message Compression Enabled: true\n"
		if join {
			s += "==> Joining cluster...(replay: false)\n" +
				"    Join completed. Synced with 1 initial agents\n"
		}
		return s + "\n" + logMarker + "\n\n"
	}
	head, logs := banner(t, first.Output())
	if want := wantHead("centos10", bind(0), bind(1), false); head != want {
		t.Errorf("first agent's banner:\n%s\nwant:\n%s", head, want)
	}
	checkLogLines(t, "centos10", logs, []string{
		"[INFO] agent: Serf agent starting",
		"[INFO] serf: EventMemberJoin: centos10 127.0.0.1",
		"[INFO] agent: Received event: member-join",
	})

	mark := first.Mark()
	second := spawn(t, serfBin, "-iface=lo", "-bind=0.0.0.0:"+strconv.Itoa(ports[2]), "-rpc-addr="+bind(3),
		"-node=centos11", "-join="+bind(0))
	second.Name = "centos11"
	second.WaitOutput(startTimeout, "[INFO] agent: Received event: member-join\n")
	head, logs = banner(t, second.Output())
	if want := wantHead("centos11", bind(2), bind(3), true); head != want {
		t.Errorf("second agent's banner:\n%s\nwant:\n%s", head, want)
	}
	checkLogLines(t, "centos11", logs, []string{
		"[INFO] agent: Serf agent starting",
		"[INFO] serf: EventMemberJoin: centos11 127.0.0.1",
		"[INFO] agent: joining: [" + bind(0) + "] replay: false",
		"[INFO] serf: EventMemberJoin: centos10 127.0.0.1",
		"[INFO] agent: joined: 1 nodes",
		"[INFO] agent: Received event: member-join",
	})

	// "1台目のノードの出力にも以下のような表示が出力され"
	first.WaitSince(mark, eventTimeout, "[INFO] agent: Received event: member-join\n")
	_, logs = banner(t, first.Output())
	checkLogLines(t, "centos10", logs, []string{
		"[INFO] serf: EventMemberJoin: centos11 127.0.0.1",
		"[INFO] agent: Received event: member-join",
	})
}

// TestBannerOptions checks the banner lines that depend on options:
// encryption, snapshot, profile, advertise address and mDNS cluster, and
// the log format at DEBUG level.
func TestBannerOptions(t *testing.T) {
	t.Parallel()
	a := newAddrs(t, "n1")
	// Advertising the bind address itself: mDNS then finds a node that
	// answers (itself), so no multi-line join error enters the log.
	adv := a
	snap := filepath.Join(t.TempDir(), "snapshot")
	cluster := fmt.Sprintf("e2e-banner-%d", os.Getpid())
	p := spawn(t, serfBin, append(a.args(),
		"-encrypt=8VS/gSYks6mz1iIWYg//PM0K+SDxydb+v1gvFWUWy14=", "-snapshot="+snap, "-profile=wan",
		"-advertise="+adv.Bind, "-discover="+cluster, "-mdns-iface=lo", "-mdns-disable-ipv6",
		"-log-level=debug", "-event-handler=member-join=true")...)
	p.addrs = a
	// The handler's output is logged once the script has finished, which
	// may be a while after the event was received.
	p.WaitOutput(startTimeout, "[DEBUG] agent: Event 'member-join' script output: \n")
	head, logs := banner(t, p.Output())
	want := "==> Starting Serf agent...\n" +
		"==> Starting Serf agent RPC...\n" +
		"==> Serf agent running!\n" +
		"                      Node name: 'n1'\n" +
		"                      Bind addr: '" + a.Bind + "'\n" +
		"    Advertise addr: '" + adv.Bind + "'\n" +
		"                       RPC addr: '" + a.RPC + "'\n" +
		"                      Encrypted: true\n" +
		"                       Snapshot: true\n" +
		"                        Profile: wan\n" +
		"    Message Compression Enabled: true\n" +
		"                   mDNS cluster: " + cluster + "\n" +
		"\n" + logMarker + "\n\n"
	if head != want {
		t.Errorf("banner:\n%s\nwant:\n%s", head, want)
	}
	checkLogLines(t, "n1", logs, []string{
		"[INFO] agent: Serf agent starting",
		"[INFO] serf: EventMemberJoin: n1 " + adv.IP,
		"[INFO] agent: Starting mDNS listener on interface lo",
		"[INFO] agent: Received event: member-join",
		"[DEBUG] agent: Event 'member-join' script output: ",
	})
}
