package clitest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/openserf/serf/internal/testutil/agentproc"
	"github.com/openserf/serf/internal/testutil/cluster"
	"github.com/openserf/serf/internal/testutil/oracle"
	"github.com/openserf/serf/internal/testutil/wait"
)

// logMarker ends the start-up banner; log lines follow it.
const logMarker = "==> Log data will now stream in as it occurs:\n\n"

// TestSeedIntroWalkthrough replays the first seed article (docs/seeds.md,
// "First article") with our binary: an agent with the article's
// member-join script and -role, a second agent configured by the
// article's JSON file and started with -join, "serf members", a
// user:deploy handler run by "serf event deploy", and "serf join" of a
// third agent. Peers are joined by bare IP as in the article, so all
// agents share one gossip port on their own 127.0.0.x addresses.
func TestSeedIntroWalkthrough(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ip1, ip2, ip3 := cluster.IP(), cluster.IP(), cluster.IP()
	port := strconv.Itoa(commonPort(t, ip1, ip2, ip3))
	rpc1, rpc2, rpc3 := oracle.FreeAddr(t, ip1), oracle.FreeAddr(t, ip2), oracle.FreeAddr(t, ip3)
	members := func(rpc string, args ...string) result {
		return runCLI(t, ourBin, rpc, nil, append([]string{"members"}, args...)...)
	}

	// vm01, as the article's install script starts it: the member-join
	// script that appends 'member joined' to a log, and -role (now a tag).
	// It also runs foo.sh for "serf event deploy".
	bin1 := filepath.Join(dir, "vm01")
	mustMkdir(t, bin1)
	joinLog := filepath.Join(bin1, "serf_join.log")
	joinScript := writeScript(t, filepath.Join(bin1, "serf_member_join.sh"), "echo 'member joined' >> "+joinLog+"\n")
	deployLog1 := filepath.Join(bin1, "deploy.log")
	foo1 := writeScript(t, filepath.Join(bin1, "foo.sh"), `echo "$SERF_EVENT $SERF_USER_EVENT on $SERF_SELF_NAME" >> `+deployLog1+"\n")
	vm01 := startProc(t, ourBin, "", nil,
		"-node=vm01", "-bind="+net.JoinHostPort(ip1, port), "-rpc-addr="+rpc1, "-profile=local",
		"-event-handler", "member-join="+joinScript,
		"-event-handler", "user:deploy="+foo1,
		"-role=role01")
	waitStdout(vm01, startTimeout, logMarker, func(s string) bool { return strings.Contains(s, logMarker) })
	if out, want := vm01.Stdout(), "==> Deprecation warning: 'Role' has been replaced with 'Tags'\n==> Starting Serf agent...\n"; !strings.HasPrefix(out, want) {
		t.Errorf("vm01's output starts\n%s\nwant\n%s", head(out, len(want)), want)
	}
	// Its own join runs the script once. Waiting for it keeps vm02's join
	// out of the same coalesced member-join event, as in the article.
	waitFile(t, joinLog, "member joined\n")

	// vm02 reads the article's config file verbatim; its handlers are
	// found on PATH, as the article's /usr/local/bin scripts are.
	bin2 := filepath.Join(dir, "vm02")
	mustMkdir(t, bin2)
	allLog := filepath.Join(bin2, "events.log")
	writeScript(t, filepath.Join(bin2, "member_join.sh"), `echo "$SERF_EVENT $SERF_USER_EVENT" >> `+allLog+"\n")
	deployLog2 := filepath.Join(bin2, "deploy.log")
	writeScript(t, filepath.Join(bin2, "foo.sh"), `echo "$SERF_EVENT $SERF_USER_EVENT on $SERF_SELF_NAME" >> `+deployLog2+"\n")
	writeFile(t, filepath.Join(bin2, "serf.conf"), `{
  "role": "load-balancer",

  "event_handlers": [
    "member_join.sh",
    "user:deploy=foo.sh"
  ]
}
`)
	vm02 := startProc(t, ourBin, bin2, []string{"PATH=" + bin2 + string(os.PathListSeparator) + os.Getenv("PATH")},
		"-node=vm02", "-bind="+net.JoinHostPort(ip2, port), "-rpc-addr="+rpc2, "-profile=local",
		"--config-file=serf.conf", "-join="+ip1)
	waitStdout(vm02, startTimeout, logMarker, func(s string) bool { return strings.Contains(s, logMarker) })
	// "role" in a config file is deprecated as -role is.
	if out, want := vm02.Stdout(), "==> Deprecation warning: 'Role' has been replaced with 'Tags'\n==> Starting Serf agent...\n"; !strings.HasPrefix(out, want) {
		t.Errorf("vm02's output starts\n%s\nwant\n%s", head(out, len(want)), want)
	}

	// % serf members
	wantMembers := [][]string{
		{"vm01", net.JoinHostPort(ip1, port), "alive", "role=role01"},
		{"vm02", net.JoinHostPort(ip2, port), "alive", "role=load-balancer"},
	}
	for _, rpc := range []string{rpc1, rpc2} {
		waitMembersTable(t, rpc, wantMembers)
	}
	if res := members(rpc1); res.Stderr != "" || res.Code != 0 {
		t.Errorf("serf members = %s, want exit 0 and nothing on stderr", res)
	}
	// % tail /tmp/serf_join.log: vm01's own join and vm02's.
	waitFile(t, joinLog, "member joined\nmember joined\n")
	wait.For(t, eventTimeout, func() error {
		if got := readFile(t, allLog); !strings.Contains(got, "member-join \n") {
			return fmt.Errorf("vm02's member_join.sh wrote %q, want a member-join line", got)
		}
		return nil
	})

	// % serf event deploy
	res := runCLI(t, ourBin, rpc1, nil, "event", "deploy")
	if want := "Event 'deploy' dispatched! Coalescing enabled: true\n"; res.Code != 0 || res.Stdout != want || res.Stderr != "" {
		t.Errorf("serf event deploy = %s, want exit 0 and %q", res, want)
	}
	waitFile(t, deployLog1, "user deploy on vm01\n")
	waitFile(t, deployLog2, "user deploy on vm02\n")
	wait.For(t, eventTimeout, func() error {
		if got := readFile(t, allLog); !strings.Contains(got, "user deploy\n") {
			return fmt.Errorf("vm02's member_join.sh wrote %q, want a user deploy line", got)
		}
		return nil
	})

	// A third agent, brought in with "serf join <IP>".
	vm03 := startProc(t, ourBin, "", nil,
		"-node=vm03", "-bind="+net.JoinHostPort(ip3, port), "-rpc-addr="+rpc3, "-profile=local", "-role=role01")
	waitStdout(vm03, startTimeout, logMarker, func(s string) bool { return strings.Contains(s, logMarker) })
	res = runCLI(t, ourBin, rpc1, nil, "join", ip3)
	if want := "Successfully joined cluster by contacting 1 nodes.\n"; res.Code != 0 || res.Stdout != want || res.Stderr != "" {
		t.Errorf("serf join %s = %s, want exit 0 and %q", ip3, res, want)
	}
	wantMembers = append(wantMembers, []string{"vm03", net.JoinHostPort(ip3, port), "alive", "role=role01"})
	for _, rpc := range []string{rpc1, rpc2, rpc3} {
		waitMembersTable(t, rpc, wantMembers)
	}
	waitFile(t, joinLog, "member joined\nmember joined\nmember joined\n")
}

// TestSeedTwoAgentCluster replays the second seed article (docs/seeds.md,
// "Second article") where multicast is not available: a first
// agent without -join, a second with -join=<first IP>, their banners and
// log lines, and Ctrl-C on the second making it leave.
func TestSeedTwoAgentCluster(t *testing.T) {
	t.Parallel()
	ip1, ip2 := cluster.IP(), cluster.IP()
	port := strconv.Itoa(commonPort(t, ip1, ip2))
	rpc1, rpc2 := oracle.FreeAddr(t, ip1), oracle.FreeAddr(t, ip2)
	bind1, bind2 := net.JoinHostPort(ip1, port), net.JoinHostPort(ip2, port)
	ts := `    \d{4}/\d\d/\d\d \d\d:\d\d:\d\d `

	// $ serf agent   (the first node: nothing to join)
	first := startProc(t, ourBin, "", nil,
		"-node=centos10", "-bind="+bind1, "-rpc-addr="+rpc1, "-profile=local")
	received := regexp.MustCompile(`(?m)^` + ts + `\[INFO\] agent: Received event: member-join$`)
	waitStdout(first, startTimeout, "Received event: member-join", received.MatchString)
	out := first.Stdout()
	wantBanner := banner("centos10", bind1, rpc1) + "\n" + logMarker
	if !strings.HasPrefix(out, wantBanner) {
		t.Errorf("first agent's output starts\n%s\nwant\n%s", head(out, len(wantBanner)), wantBanner)
	}
	checkOrder(t, "first agent", out,
		ts+`\[INFO\] agent: Serf agent starting`,
		ts+`\[INFO\] serf: EventMemberJoin: centos10 `+regexp.QuoteMeta(ip1),
		ts+`\[INFO\] agent: Received event: member-join`)
	mark := len(out)

	// $ serf agent -join=<first IP>
	second := startProc(t, ourBin, "", nil,
		"-node=centos11", "-bind="+bind2, "-rpc-addr="+rpc2, "-profile=local", "-join="+ip1)
	waitStdout(second, startTimeout, "Received event: member-join", received.MatchString)
	out = second.Stdout()
	wantBanner = banner("centos11", bind2, rpc2) +
		"==> Joining cluster...(replay: false)\n" +
		"    Join completed. Synced with 1 initial agents\n" +
		"\n" + logMarker
	if !strings.HasPrefix(out, wantBanner) {
		t.Errorf("second agent's output starts\n%s\nwant\n%s", head(out, len(wantBanner)), wantBanner)
	}
	checkOrder(t, "second agent", out,
		ts+`\[INFO\] agent: Serf agent starting`,
		ts+`\[INFO\] serf: EventMemberJoin: centos11 `+regexp.QuoteMeta(ip2),
		ts+`\[INFO\] agent: joining: \[`+regexp.QuoteMeta(ip1)+`\] replay: false`,
		ts+`\[INFO\] agent: joined: 1 nodes`,
		ts+`\[INFO\] agent: Received event: member-join`)
	if !regexp.MustCompile(`(?m)^` + ts + `\[INFO\] serf: EventMemberJoin: centos10 ` + regexp.QuoteMeta(ip1) + `$`).MatchString(out) {
		t.Errorf("second agent's output has no EventMemberJoin line for centos10:\n%s", out)
	}

	// The first agent's output then shows the second joining.
	waitStdout(first, joinTimeout, "the second agent's member-join", func(s string) bool {
		return len(s) > mark && received.MatchString(s[mark:])
	})
	checkOrder(t, "first agent after the join", first.Stdout()[mark:],
		ts+`\[INFO\] serf: EventMemberJoin: centos11 `+regexp.QuoteMeta(ip2),
		ts+`\[INFO\] agent: Received event: member-join`)

	// Ctrl-C on the second: a graceful leave, exit 0.
	second.Signal(syscall.SIGINT)
	if code := second.WaitExit(exitTimeout); code != 0 {
		t.Errorf("second agent exit code after SIGINT = %d, want 0", code)
	}
	checkOrder(t, "second agent after SIGINT", second.Stdout(),
		`==> Caught signal: interrupt`,
		`==> Gracefully shutting down agent...`)
	waitStdout(first, joinTimeout, "the second agent's leave", regexp.MustCompile(
		`(?m)^`+ts+`\[INFO\] serf: EventMemberLeave: centos11 `+regexp.QuoteMeta(ip2)+`$`).MatchString)
	waitMembersTable(t, rpc1, [][]string{
		{"centos10", bind1, "alive"},
		{"centos11", bind2, "left"},
	})
	for name, p := range map[string]*agentproc.Agent{"centos10": first, "centos11": second} {
		if s := p.Stderr(); s != "" {
			t.Errorf("agent %s wrote to stderr:\n%s", name, s)
		}
	}
}

// banner is the start-up banner of an agent with the local profile and
// no encryption, up to the optional join lines (docs/agent.md, Start-up).
func banner(name, bind, rpc string) string {
	return "==> Starting Serf agent...\n" +
		"==> Starting Serf agent RPC...\n" +
		"==> Serf agent running!\n" +
		"                      Node name: '" + name + "'\n" +
		"                      Bind addr: '" + bind + "'\n" +
		"                       RPC addr: '" + rpc + "'\n" +
		"                      Encrypted: false\n" +
		"                       Snapshot: false\n" +
		"                        Profile: local\n" +
		"    Message Compression Enabled: true\n"
}

// checkOrder checks that out has a whole line matching each of the
// regular expressions, in this order.
func checkOrder(t *testing.T, what, out string, lines ...string) {
	t.Helper()
	rest := out
	for _, l := range lines {
		loc := regexp.MustCompile(`(?m)^` + l + `$`).FindStringIndex(rest)
		if loc == nil {
			t.Errorf("%s: no line matching %q after the previous ones in\n%s", what, l, out)
			return
		}
		rest = rest[loc[1]:]
	}
}

// waitMembersTable waits until "serf members" against rpc prints exactly
// the rows want (fields split on white space), in name order.
func waitMembersTable(t *testing.T, rpc string, want [][]string) {
	t.Helper()
	wait.For(t, joinTimeout, func() error {
		res := runCLI(t, ourBin, rpc, nil, "members")
		var got [][]string
		for _, l := range strings.Split(strings.TrimRight(res.Stdout, "\n"), "\n") {
			got = append(got, strings.Fields(l))
		}
		if res.Code != 0 || !slices.EqualFunc(got, want, slices.Equal) {
			return fmt.Errorf("serf members -rpc-addr=%s = %s, want rows %q", rpc, res, want)
		}
		return nil
	})
}

// waitFile waits until the file at path holds exactly want.
func waitFile(t *testing.T, path, want string) {
	t.Helper()
	wait.For(t, eventTimeout, func() error {
		if got := readFile(t, path); got != want {
			return fmt.Errorf("%s holds %q, want %q", path, got, want)
		}
		return nil
	})
}

func mustMkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

// head returns at most the first n bytes of s.
func head(s string, n int) string {
	return s[:min(n, len(s))]
}
