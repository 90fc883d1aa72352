package loglines_test

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/openserf/serf/internal/testutil/oracle"
)

// serfVersion is the release whose log lines ours must print.
const serfVersion = "v0.11.0"

// Where the log lines live: Serf's library, CLI, agent and RPC client, and
// the same parts of ours.
var (
	serfDirs = []string{"serf", "coordinate", "client", "cmd/serf", "cmd/serf/command", "cmd/serf/command/agent"}
	ourDirs  = []string{"serf", "coordinate", "client", "cmd/serf", "command", "agent", "event"}
)

// Reasons shared by several lines.
const (
	truncateNever = "Serf checks for truncated output right after the script starts, before it has written anything, so it practically never prints this; ours keeps the last 8 KiB as Serf does and prints nothing either"
)

// serfOnly are Serf's log lines that ours does not print, as Serf's source
// spells them, with the reason. docs/compatibility.md lists each.
var serfOnly = map[string]string{
	"[WARN] agent.ipc: Dropping logs to %v":                                   "ours logs one line per burst of dropped lines, with their count, instead of one per dropped line",
	"[WARN] agent: Script '%s' generated %d bytes of output, truncated to %d": truncateNever,
}

// oursOnly are our log lines that Serf does not print, as our source
// spells them, with the reason. docs/compatibility.md lists each.
var oursOnly = map[string]string{
	"[DEBUG] serf: Attempting re-join to previously known node: %s":                          "rejoin from the snapshot is retried; the first attempt logs Serf's INFO line",
	"[DEBUG] serf: Join hung up (%v), trying again in %v":                                    "a join that was hung up on is retried",
	"[DEBUG] serf: Attempting to heal with lost peer %s %s":                                  "healing with reaped peers (Config.HealInterval)",
	"[INFO] serf: Healed with lost peer %s %s":                                               "healing with reaped peers (Config.HealInterval)",
	"[DEBUG] serf: Failed to heal with lost peer %s %s: %v":                                  "healing with reaped peers (Config.HealInterval)",
	"[DEBUG] serf: Join sync with %s failed: %v":                                             "extra push/pull exchanges after a join",
	"[DEBUG] serf: resent query (LTime: %d, ID: %d) to %d members that had not answered":     "queries are resent to members that have not answered",
	"[DEBUG] serf: failed to resend query to %s: %v":                                         "queries are resent to members that have not answered",
	"[WARN] serf: Event channel full, dropped %s (%d dropped so far)":                        "event delivery drops instead of blocking gossip",
	"[WARN] serf: Ignoring incomplete last line of snapshot (%d bytes)":                      "a torn last snapshot line is cut off",
	"[ERR] serf: Encoded tags (%d bytes) exceed the metadata limit of %d bytes":              "Serf panics here; ours logs (Create and SetTags refuse such tags first)",
	"[ERR] serf: Failed to encode tags: %v":                                                  "Serf panics here; ours logs",
	"[ERR] serf: Failed to truncate response so that it fits into message":                   "the text Serf prints through \"[ERR] serf: %v\"",
	"[WARN] agent.ipc: Dropping logs to %v (%d lines)":                                       "one line per burst of dropped lines, with their count",
	"[INFO] agent: Reload changed the log level from %s to %s":                               "every reload change is logged",
	"[INFO] agent: Reload changed the event handlers to %q":                                  "every reload change is logged",
	"[INFO] agent: Reload changed tags: %s":                                                  "every reload change is logged",
	"[INFO] agent: Reload changed the retry join settings; retrying the join with %q":        "a reload applies the retry join",
	"[INFO] agent: Reload emptied retry_join; the retry join is stopped":                     "a reload applies the retry join",
	"[WARN] agent: Reload cannot change log_json; it takes effect when the agent restarts":   "log_json (ours) is fixed at start",
	"[WARN] agent: Reload cannot change %s; restart the agent for that":                      "label, encrypt_verify_* and the allow-lists (ours) are fixed at start",
	"[DEBUG] %s: Refused connection from %v: not in the allowed networks":                    "rpc_allowed_cidrs and http_allowed_cidrs (ours)",
	"[WARN] agent: Event '%s' script '%s' output: %s":                                        "a failing script's output is logged at WARN",
	"[WARN] agent: Event handler queue full for '%s', dropping event %s":                     "each handler has its own bounded queue",
	"[WARN] agent: Script '%s' killed after %v":                                              "handler time limit (agent.Options.HandlerTimeout)",
	"[INFO] agent: Script '%s' still running at shutdown, left to run to its end":            "a script running at shutdown is left to finish, and says so",
	"[ERR] agent: Failed to kill script '%s': %v":                                            "the handler time limit could not kill a script",
	"[WARN] agent: failed to notify systemd: %v":                                             "sd_notify under systemd, which Serf does not speak",
	"[WARN] agent: ignoring the systemd watchdog: %v":                                        "sd_notify under systemd, which Serf does not speak",
	"[INFO] agent.http: Listening on %s":                                                     "the HTTP API (ours)",
	"[WARN] agent.http: Listening on %s without a token: anyone who can reach it can use it": "the HTTP API (ours) on a non-loopback address with no token",
	"[ERR] agent.http: Stopped serving: %v":                                                  "the HTTP API (ours)",
	"[INFO] agent.http: Graceful leave triggered":                                            "the HTTP API's leave, as the RPC's",
	"[ERR] agent.http: leave failed: %v":                                                     "the HTTP API's leave, as the RPC's",
	"[ERR] agent.http: shutdown failed: %v":                                                  "the HTTP API's leave, as the RPC's",
	"[WARN] agent.http: Dropping events to %s: it does not read them fast enough":            "one line per run of events dropped for a slow HTTP stream",
	"[WARN] agent.http: Dropping logs to %s (%d lines)":                                      "one line per burst of log lines dropped for a slow HTTP monitor",
	"[DEBUG] agent: %s resolved to %v":                                                       "dns+srv:// join addresses (ours)",
	"[WARN] agent: failed to resolve %s: %v":                                                 "dns+srv:// join addresses (ours)",
}

// level starts every log line.
var level = regexp.MustCompile(`^\[(TRACE|DEBUG|INFO|WARN|ERR)\] `)

// same reduces a format string to what it prints: log.Logger adds the
// final newline when it is missing, and %s and %v print the strings and
// errors given to them alike.
func same(format string) string {
	return strings.ReplaceAll(strings.TrimSuffix(format, "\n"), "%s", "%v")
}

// lines maps each log format string found in the non-test Go files of
// root/dirs to where it occurs. A format is any string literal that
// starts with a level; for Println("[WARN] serf:", x) it is the literal
// followed by one " %v" per further argument, which is what Println
// prints.
func lines(tb testing.TB, root string, dirs []string) map[string][]string {
	tb.Helper()
	out := map[string][]string{}
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(root, dir, "*.go"))
		if err != nil {
			tb.Fatal(err)
		}
		if len(files) == 0 {
			tb.Fatalf("no Go files in %s", filepath.Join(root, dir))
		}
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				tb.Fatal(err)
			}
			where := func(n ast.Node) string {
				p := fset.Position(n.Pos())
				rel, _ := filepath.Rel(root, p.Filename)
				return fmt.Sprintf("%s:%d", rel, p.Line)
			}
			done := map[*ast.BasicLit]bool{}
			ast.Inspect(f, func(n ast.Node) bool {
				if call, ok := n.(*ast.CallExpr); ok {
					if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Println" && len(call.Args) > 1 {
						if s, lit, ok := levelLiteral(call.Args[0]); ok {
							format := s + strings.Repeat(" %v", len(call.Args)-1)
							out[format] = append(out[format], where(lit))
							done[lit] = true
						}
					}
				}
				if s, lit, ok := levelLiteral(n); ok && !done[lit] {
					out[s] = append(out[s], where(lit))
				}
				return true
			})
		}
	}
	return out
}

// levelLiteral returns the value of a string literal that starts with a
// log level.
func levelLiteral(n ast.Node) (string, *ast.BasicLit, bool) {
	lit, ok := n.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", nil, false
	}
	s, err := strconv.Unquote(lit.Value)
	if err != nil || !level.MatchString(s) {
		return "", nil, false
	}
	return s, lit, true
}

// byPrint indexes formats by what they print.
func byPrint(formats map[string][]string) map[string]string {
	out := map[string]string{}
	for f := range formats {
		out[same(f)] = f
	}
	return out
}

func moduleRoot(tb testing.TB) string {
	tb.Helper()
	root, err := oracle.ModuleRoot()
	if err != nil {
		tb.Fatal(err)
	}
	return root
}

// ourLines are our log lines without those of memberlist's subsystem,
// which TestMemberlistLines checks.
func ourLines(tb testing.TB) (ours, memberlist map[string][]string) {
	tb.Helper()
	ours, memberlist = map[string][]string{}, map[string][]string{}
	for f, where := range lines(tb, moduleRoot(tb), ourDirs) {
		if strings.Contains(f, "] memberlist: ") {
			memberlist[f] = where
		} else {
			ours[f] = where
		}
	}
	return ours, memberlist
}

// TestInteropLogLines compares every log line of Serf's with ours, both ways.
func TestInteropLogLines(t *testing.T) {
	theirs := lines(t, oracle.Source(t, serfVersion), serfDirs)
	ours, _ := ourLines(t)
	if len(theirs) < 100 {
		t.Fatalf("found only %d log lines in Serf's source; is the extraction broken?", len(theirs))
	}
	theirPrint, ourPrint := byPrint(theirs), byPrint(ours)

	compareLines(t, theirs, ours, ourPrint, serfOnly,
		"Serf's %q (%s) is not one of ours; print it, or list it in serfOnly and docs/compatibility.md",
		"Serf's %q is in serfOnly, but ours prints it (%s): drop it from the list and the docs")
	compareLines(t, ours, theirs, theirPrint, oursOnly,
		"our %q (%s) is not one of Serf's; use Serf's text, or list it in oursOnly and docs/compatibility.md",
		"our %q is in oursOnly, but Serf prints it too (%s): drop it from the list and the docs")
	for _, f := range slices.Sorted(maps.Keys(serfOnly)) {
		if _, ok := theirs[f]; !ok {
			t.Errorf("serfOnly lists %q, which Serf %s's source does not have", f, serfVersion)
		}
	}
}

// compareLines checks each of a's lines against b's, whose byPrint is
// bPrint: a line b does not print must be in aOnly (else missing is
// reported), and one b prints must not be (else listed is). Both formats
// take the line and where it is, in a or in b.
func compareLines(t *testing.T, a, b map[string][]string, bPrint, aOnly map[string]string, missing, listed string) {
	t.Helper()
	for _, f := range slices.Sorted(maps.Keys(a)) {
		_, have := bPrint[same(f)]
		_, allowed := aOnly[f]
		switch {
		case !have && !allowed:
			t.Errorf(missing, f, a[f][0])
		case have && allowed:
			t.Errorf(listed, f, b[bPrint[same(f)]][0])
		}
	}
}

// TestMemberlistLines checks the lines our own transport code prints in
// memberlist's name against the memberlist we build with.
func TestMemberlistLines(t *testing.T) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/hashicorp/memberlist")
	cmd.Dir = moduleRoot(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -m memberlist: %v", err)
	}
	dir := string(bytes.TrimSpace(out))
	theirs := byPrint(lines(t, dir, []string{"."}))
	_, ours := ourLines(t)
	if len(ours) == 0 {
		t.Fatal("found no memberlist lines in ours; is the extraction broken?")
	}
	for _, f := range slices.Sorted(maps.Keys(ours)) {
		if _, ok := theirs[same(f)]; !ok {
			t.Errorf("our %q (%s) is not one of memberlist's (%s)", f, ours[f][0], dir)
		}
	}
}

// TestAllowListsDocumented checks that docs/compatibility.md names every
// allowed difference, and that the lists name only lines of ours.
func TestAllowListsDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(moduleRoot(t), "docs", "compatibility.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, list := range []map[string]string{serfOnly, oursOnly} {
		for _, f := range slices.Sorted(maps.Keys(list)) {
			if !bytes.Contains(doc, []byte("`"+f+"`")) {
				t.Errorf("docs/compatibility.md does not list `%s` (%s)", f, list[f])
			}
		}
	}
	ours, _ := ourLines(t)
	for _, f := range slices.Sorted(maps.Keys(oursOnly)) {
		if _, ok := ours[f]; !ok {
			t.Errorf("oursOnly lists %q, which our source does not have", f)
		}
	}
}
