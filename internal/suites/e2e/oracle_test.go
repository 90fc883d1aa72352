package e2e

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/openserf/serf/internal/testutil/oracle"
)

// progressLines are "==> " lines printed on the way to an error.
var progressLines = []string{"==> Starting Serf agent...\n", "==> Starting Serf agent RPC...\n"}

// errorBlock returns the output of run from its first "==> " line that is
// not progress, with its config file written <path> and its directory
// <dir>.
func errorBlock(run configRun) string {
	out := run.out
	if run.path != "" {
		out = strings.ReplaceAll(out, run.path, "<path>")
	}
	out = strings.ReplaceAll(out, run.dir, "<dir>")
	rest := out
	for line := range strings.Lines(out) {
		if strings.HasPrefix(line, "==> ") && !slices.Contains(progressLines, line) {
			return rest
		}
		rest = rest[len(line):]
	}
	return ""
}

// durationKeyRE matches the key that our bad-duration errors name.
var durationKeyRE = regexp.MustCompile(`^(==> Error decoding '<path>': )[a-z_]+: (time: invalid duration)`)

// TestInteropConfig runs real Serf and ours with the same good and bad
// configurations: both must accept or reject each, with the same
// start-up lines or the same error (but for documented differences).
func TestInteropConfig(t *testing.T) {
	t.Parallel()
	oracle.EachVersion(t, func(t *testing.T, version, theirBin string) {
		t.Parallel()
		for _, c := range configCases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				theirs := runConfig(t, theirBin, c)
				ours := runConfig(t, serfBin, c)
				if theirs.started != ours.started {
					t.Fatalf("serf %s started: %v, ours: %v\nserf %s:\n%s\nours:\n%s",
						version, theirs.started, ours.started, version, theirs.out, ours.out)
				}
				if theirs.started {
					if a, b := startLines(theirs.out), startLines(ours.out); a != b {
						t.Errorf("start-up lines differ:\nserf %s:\n%s\nours:\n%s", version, a, b)
					}
					return
				}
				if theirs.code != ours.code {
					t.Errorf("exit code %d, serf %s's %d", ours.code, version, theirs.code)
				}
				a, b := errorBlock(theirs), errorBlock(ours)
				if a == "" {
					t.Fatalf("serf %s printed no error:\n%s", version, theirs.out)
				}
				switch {
				case c.compare == durationKey:
					// Documented: ours names the key.
					b = durationKeyRE.ReplaceAllString(b, "$1$2")
				case c.compare == decodeText && version == "v0.10.2":
					// mapstructure v1 words it differently; only the prefix is
					// comparable.
					a, _, _ = strings.Cut(a, "': ")
					b, _, _ = strings.Cut(b, "': ")
				}
				if a != b {
					t.Errorf("error differs:\nserf %s:\n%q\nours:\n%q", version, a, b)
				}
			})
		}
	})
}

// normalize replaces each address in addrs by a placeholder, longest
// first so that IP:port goes before IP.
func normalize(s string, addrs map[string]string) string {
	keys := make([]string, 0, len(addrs))
	for k := range addrs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	for _, k := range keys {
		s = strings.ReplaceAll(s, k, addrs[k])
	}
	return s
}

// placeholders maps an agent's addresses to placeholder names.
func placeholders(a addrs) map[string]string {
	return map[string]string{a.Bind: "<bind>", a.RPC: "<rpc>", a.IP: "<ip>"}
}

// logMessages returns the agent's log messages without times, up to and
// including the first line containing until.
func logMessages(t *testing.T, out, until string) []string {
	t.Helper()
	_, logs := banner(t, out)
	var msgs []string
	for _, line := range logs {
		m := logLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		msg := fmt.Sprintf("[%s] %s: %s", m[2], m[3], m[4])
		msgs = append(msgs, msg)
		if strings.Contains(msg, until) {
			break
		}
	}
	return msgs
}

// TestInteropBannerAndSIGINT starts real Serf and ours alike and compares
// the banner, the first log lines, and what a SIGINT prints and returns.
func TestInteropBannerAndSIGINT(t *testing.T) {
	t.Parallel()
	oracle.EachVersion(t, func(t *testing.T, version, theirBin string) {
		t.Parallel()
		type result struct {
			head, stop string
			logs       []string
			code       int
		}
		run := func(bin string) result {
			a := newAddrs(t, "n1")
			p := startAgentAt(t, bin, a, "-tag", "a=b", "-event-handler", "member-join=true", "-role=web")
			p.WaitOutput(startTimeout, "[INFO] agent: Received event: member-join\n")
			var r result
			out := normalize(p.Output(), placeholders(a))
			r.head, _ = banner(t, out)
			r.logs = logMessages(t, out, "Received event: member-join")
			mark := p.Mark()
			p.Signal(syscall.SIGINT)
			r.code = p.WaitExit(exitTimeout)
			r.stop = outputLines(p.Since(mark))
			return r
		}
		theirs, ours := run(theirBin), run(serfBin)
		if theirs.head != ours.head {
			t.Errorf("banner differs:\nserf %s:\n%s\nours:\n%s", version, theirs.head, ours.head)
		}
		if a, b := strings.Join(theirs.logs, "\n"), strings.Join(ours.logs, "\n"); a != b {
			t.Errorf("first log lines differ:\nserf %s:\n%s\nours:\n%s", version, a, b)
		}
		if theirs.stop != ours.stop || theirs.code != ours.code {
			t.Errorf("SIGINT: ours printed\n%sand exited %d; serf %s printed\n%sand exited %d",
				ours.stop, ours.code, version, theirs.stop, theirs.code)
		}
	})
}

// handlerRuns is what a dumpScript handler on n1 saw: n2 joining and a
// user event.
type handlerRuns struct {
	join, user handlerRun
}

// runHandlerScenario starts n1 and n2 of bin, n1 with a handler for
// member-join and user:deploy, joins n2 and sends "serf event deploy
// payload" from n2 (with cli, the binary for that command).
func runHandlerScenario(t *testing.T, bin, cli string) handlerRuns {
	t.Helper()
	dir := t.TempDir()
	script := writeScript(t, t.TempDir(), "dump.sh", dumpScript(dir))
	a1, a2 := newAddrs(t, "n1"), newAddrs(t, "n2")
	n1 := startAgentAt(t, bin, a1, "-tag", "role=web", "-tag", "my-tag.x=v1",
		"-event-handler", "member-join,user:deploy="+script)
	n1.WaitRunning()
	waitRun(t, dir, 1) // its own join
	n2 := startAgentAt(t, bin, a2, "-tag", "role=db", "-tag", "my-tag.x=v 1", "-tag", "note=a\tb\\c",
		"-join="+a1.Bind)
	n2.WaitRunning()
	var r handlerRuns
	r.join = waitRun(t, dir, 2)
	r.join.Stdin = normalizeMemberLines(r.join.Stdin, placeholders(a2))
	out, err := runCLI(cli, "event", "-rpc-addr="+a2.RPC, "deploy", "payload")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	r.user = waitRun(t, dir, 3)
	return r
}

// normalizeMemberLines puts placeholders for addresses and sorts the tag
// list of each member line (Serf's order is random, ours sorted).
func normalizeMemberLines(stdin string, addrs map[string]string) string {
	var b strings.Builder
	for line := range strings.Lines(normalize(stdin, addrs)) {
		f := strings.Split(strings.TrimSuffix(line, "\n"), "\t")
		if len(f) == 4 {
			tags := strings.Split(f[3], ",")
			sort.Strings(tags)
			f[3] = strings.Join(tags, ",")
		}
		b.WriteString(strings.Join(f, "\t") + "\n")
	}
	return b.String()
}

// TestInteropHandlerEnv runs the same handler under real Serf and ours and
// compares its SERF_* environment and stdin for a member-join and a user
// event.
func TestInteropHandlerEnv(t *testing.T) {
	t.Parallel()
	oracle.EachVersion(t, func(t *testing.T, version, theirBin string) {
		t.Parallel()
		theirs := runHandlerScenario(t, theirBin, theirBin)
		ours := runHandlerScenario(t, serfBin, serfBin)
		for _, c := range []struct {
			name        string
			theirs, our handlerRun
		}{
			{"member-join", theirs.join, ours.join},
			{"user event", theirs.user, ours.user},
		} {
			if !mapsEqual(c.theirs.Env, c.our.Env) {
				t.Errorf("%s env: ours %v, serf %s's %v", c.name, c.our.Env, version, c.theirs.Env)
			}
			if c.theirs.Stdin != c.our.Stdin {
				t.Errorf("%s stdin: ours %q, serf %s's %q", c.name, c.our.Stdin, version, c.theirs.Stdin)
			}
		}
		if want := "n2\t<ip>\tdb\tmy-tag.x=v 1,note=a\\tb\\c,role=db\n"; ours.join.Stdin != want {
			t.Errorf("member-join stdin = %q, want %q", ours.join.Stdin, want)
		}
	})
}

// TestInteropReload rewrites the config file of real Serf and of ours
// alike, with good and bad contents, sends SIGHUP after each, and
// compares what both print.
func TestInteropReload(t *testing.T) {
	t.Parallel()
	// Each config prints something while it is read; its last line says
	// the reading is over, so the next file cannot be read in its place.
	const rejoinWarning = "==> Warning: 'RejoinAfterLeave' enabled without snapshot file\n"
	steps := []struct{ config, last string }{
		{`{"event_handlers": ["bogus=x.sh"]}`, "==> Failed to reload configs\n"},
		{`{"node_name": `, "==> Failed to reload configs\n"},
		{`{"log_level": "loud"}`, "==> Invalid log level: LOUD. Valid log levels are: [TRACE DEBUG INFO WARN ERR]\n"},
		{`{"role": "web"}`, "==> Deprecation warning: 'Role' has been replaced with 'Tags'\n"},
		{`{"retry_interval": "1ms", "broadcast_timeout": "1ms"}`, "==> Warning: 'BroadcastTimeout' is too low. Setting to 1s\n"},
		{`{"log_level": "debug", "event_handlers": ["user:deploy=true"], "rejoin_after_leave": true}`, rejoinWarning},
		{`{"profile": "moon", "rejoin_after_leave": true}`, rejoinWarning},
	}
	oracle.EachVersion(t, func(t *testing.T, version, theirBin string) {
		t.Parallel()
		run := func(bin string) (string, int) {
			conf := filepath.Join(t.TempDir(), "serf.json")
			writeFile(t, conf, `{"log_level": "info"}`)
			p := startAgentAt(t, bin, newAddrs(t, "n1"), "-config-file="+conf)
			p.WaitRunning()
			p.WaitSignalReady()
			start := p.Mark()
			for _, step := range steps {
				mark := p.Mark()
				writeFile(t, conf, step.config)
				p.Signal(syscall.SIGHUP)
				p.WaitSince(mark, eventTimeout, "==> Caught signal: hangup\n==> Reloading configuration...\n")
				p.WaitSince(mark, eventTimeout, step.last)
			}
			p.Signal(syscall.SIGINT)
			code := p.WaitExit(exitTimeout)
			return strings.ReplaceAll(outputLines(p.Since(start)), conf, "<path>"), code
		}
		theirs, theirCode := run(theirBin)
		ours, ourCode := run(serfBin)
		if theirs != ours || theirCode != ourCode {
			t.Errorf("ours printed\n%sand exited %d; serf %s printed\n%sand exited %d",
				ours, ourCode, version, theirs, theirCode)
		}
	})
}

// TestInteropUserEventCoalescing sends user events with and without
// coalescing to real Serf and to ours and compares what the handler got:
// of coalesced events with one name only the last is delivered.
func TestInteropUserEventCoalescing(t *testing.T) {
	t.Parallel()
	oracle.EachVersion(t, func(t *testing.T, version, theirBin string) {
		t.Parallel()
		run := func(bin, cli string) []string {
			out := filepath.Join(t.TempDir(), "events")
			a := newAddrs(t, "n1")
			p := startAgentAt(t, bin, a, "-event-handler",
				`user=printf '%s %s %s\n' "$SERF_USER_EVENT" "$SERF_USER_LTIME" "$(cat)" >> `+out)
			p.WaitRunning()
			send := func(args ...string) {
				if got, err := runCLI(cli, "event", append([]string{"-rpc-addr=" + a.RPC}, args...)...); err != nil {
					t.Fatalf("%v\n%s", err, got)
				}
			}
			send("deploy", "p1")
			send("deploy", "p2")
			send("deploy", "p3")
			send("other", "o1")
			send("-coalesce=false", "deploy", "now")
			waitLines(t, out, 3, eventTimeout)
			// The coalescer has flushed: whatever else it delivers comes
			// before this last event.
			send("-coalesce=false", "end")
			lines := waitLines(t, out, 4, eventTimeout)
			if last := lines[len(lines)-1]; !strings.HasPrefix(last, "end ") {
				t.Errorf("events after the flush: %q", lines)
			}
			lines = lines[:len(lines)-1]
			// The coalescer flushes names in no set order.
			sort.Strings(lines)
			return lines
		}
		theirs := run(theirBin, theirBin)
		ours := run(serfBin, serfBin)
		if !slices.Equal(theirs, ours) {
			t.Errorf("handler got %q, serf %s's got %q", ours, version, theirs)
		}
		if want := []string{"deploy 3 p3", "deploy 5 now", "other 4 o1"}; !slices.Equal(ours, want) {
			t.Errorf("handler got %q, want %q", ours, want)
		}
	})
}
