package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/wait"
)

// TestSeedMemberJoinHandler follows the first seed article: two agents
// with role role01 and a member-join handler that appends "member
// joined" to a log, joined with "serf join", listed with "serf members".
// The handler also keeps its stdin, one "NAME\tADDR\tROLE\tTAGS" line per
// joined member.
func TestSeedMemberJoinHandler(t *testing.T) {
	t.Parallel()
	type vm struct {
		*agentProc
		joinLog, stdinLog string
	}
	start := func(name string) vm {
		dir := t.TempDir()
		v := vm{joinLog: filepath.Join(dir, "serf_join.log"), stdinLog: filepath.Join(dir, "members.log")}
		script := writeScript(t, dir, "serf_member_join.sh", fmt.Sprintf(
			"echo 'member joined' >> %s\ncat >> %s\n", v.joinLog, v.stdinLog))
		v.agentProc = startNode(t, name, "-event-handler", "member-join="+script, "-role=role01")
		// Its own join runs the handler once.
		waitLines(t, v.joinLog, 1, eventTimeout)
		return v
	}
	vm1 := start("vm01")
	vm2 := start("vm02")
	for _, v := range []vm{vm1, vm2} {
		const warning = "==> Deprecation warning: 'Role' has been replaced with 'Tags'\n"
		if !strings.HasPrefix(v.Output(), warning) {
			t.Errorf("%s output does not start with %q:\n%s", v.Name, warning, v.Output())
		}
	}

	// % sudo serf join <the other node's IP>
	out := vm2.MustCLI("join", vm1.Bind)
	if want := "Successfully joined cluster by contacting 1 nodes.\n"; out != want {
		t.Errorf("serf join printed %q, want %q", out, want)
	}

	line := func(v vm) string { return v.Name + "\t" + v.IP + "\trole01\trole=role01" }
	for _, c := range []struct {
		v     vm
		lines []string
	}{
		{vm1, []string{line(vm1), line(vm2)}},
		{vm2, []string{line(vm2), line(vm1)}},
	} {
		// % tail /tmp/serf_join.log
		got := waitLines(t, c.v.joinLog, 2, eventTimeout)
		if want := []string{"member joined", "member joined"}; !slices.Equal(got, want) {
			t.Errorf("%s serf_join.log = %q, want %q", c.v.Name, got, want)
		}
		if got := waitLines(t, c.v.stdinLog, 2, eventTimeout); !slices.Equal(got, c.lines) {
			t.Errorf("%s handler stdin = %q, want %q", c.v.Name, got, c.lines)
		}
	}

	// % sudo serf members
	out = vm1.MustCLI("members")
	rows := strings.Split(strings.TrimSpace(out), "\n")
	sort.Strings(rows)
	if len(rows) != 2 {
		t.Fatalf("serf members printed %d rows, want 2:\n%s", len(rows), out)
	}
	for i, v := range []vm{vm1, vm2} {
		if f := strings.Fields(rows[i]); !slices.Equal(f, []string{v.Name, v.Bind, "alive", "role=role01"}) {
			t.Errorf("serf members row %q, want %s %s alive role=role01", rows[i], v.Name, v.Bind)
		}
	}

	// The joins are logged as in the second article.
	for _, v := range []vm{vm1, vm2} {
		for _, w := range []vm{vm1, vm2} {
			v.WaitOutput(eventTimeout, fmt.Sprintf("[INFO] serf: EventMemberJoin: %s %s\n", w.Name, w.IP))
		}
		v.WaitOutput(eventTimeout, "[INFO] agent: Received event: member-join\n")
	}
	if n := strings.Count(vm2.Output(), "[INFO] agent: Received event: member-join\n"); n != 2 {
		t.Errorf("vm02 logged %d member-join events, want 2", n)
	}
}

// dumpScript returns the body of a handler script that writes its SERF_*
// environment (sorted) and its stdin to <dir>/<n>.env and <dir>/<n>.stdin,
// n counting the runs from 1.
func dumpScript(dir string) string {
	return fmt.Sprintf(`n=$(( $(ls %[1]s | grep -c '\.stdin$') + 1 ))
env | grep '^SERF_' | sort > %[1]s/$n.env.tmp
cat > %[1]s/$n.stdin.tmp
mv %[1]s/$n.env.tmp %[1]s/$n.env
mv %[1]s/$n.stdin.tmp %[1]s/$n.stdin
`, dir)
}

// handlerRun is one run recorded by dumpScript.
type handlerRun struct {
	Env   map[string]string
	Stdin string
}

// waitRun waits for run n (from 1) of a dumpScript handler writing to dir.
func waitRun(t *testing.T, dir string, n int) handlerRun {
	t.Helper()
	envPath := filepath.Join(dir, fmt.Sprintf("%d.env", n))
	stdinPath := filepath.Join(dir, fmt.Sprintf("%d.stdin", n))
	var stdin []byte
	// Both files are renamed into place, the stdin file last.
	wait.For(t, eventTimeout, func() error {
		var err error
		stdin, err = os.ReadFile(stdinPath)
		return err
	})
	run := handlerRun{Env: map[string]string{}, Stdin: string(stdin)}
	for _, kv := range readLines(envPath) {
		k, v, _ := strings.Cut(kv, "=")
		run.Env[k] = v
	}
	return run
}

// TestUserEventHandler sends "serf event deploy payload" and checks the
// user:deploy handler's environment and stdin on both agents.
func TestUserEventHandler(t *testing.T) {
	t.Parallel()
	dirs := map[string]string{"n1": t.TempDir(), "n2": t.TempDir()}
	spec := func(name string) string {
		return "user:deploy=" + writeScript(t, t.TempDir(), "deploy.sh", dumpScript(dirs[name]))
	}
	n1 := startNode(t, "n1", "-event-handler", spec("n1"), "-tag", "my-tag.x=v1", "-tag", "role=web")
	n2 := startNode(t, "n2", "-event-handler", spec("n2"), "-join="+n1.Bind)
	n1.WaitStatus(eventTimeout, "n2", "alive")

	out := n2.MustCLI("event", "deploy", "payload")
	if want := "Event 'deploy' dispatched! Coalescing enabled: true\n"; out != want {
		t.Errorf("serf event printed %q, want %q", out, want)
	}

	ltime := regexp.MustCompile(`^[1-9][0-9]*$`)
	var ltimes []string
	for _, c := range []struct {
		name string
		tags map[string]string
		role string
	}{
		{"n1", map[string]string{"SERF_TAG_MY_TAG_X": "v1", "SERF_TAG_ROLE": "web"}, "web"},
		{"n2", nil, ""},
	} {
		run := waitRun(t, dirs[c.name], 1)
		want := map[string]string{
			"SERF_EVENT":      "user",
			"SERF_USER_EVENT": "deploy",
			"SERF_SELF_NAME":  c.name,
			"SERF_SELF_ROLE":  c.role,
			"SERF_USER_LTIME": run.Env["SERF_USER_LTIME"],
		}
		for k, v := range c.tags {
			want[k] = v
		}
		if !mapsEqual(run.Env, want) {
			t.Errorf("%s handler env = %v, want %v", c.name, run.Env, want)
		}
		if !ltime.MatchString(run.Env["SERF_USER_LTIME"]) {
			t.Errorf("%s SERF_USER_LTIME = %q, want a positive number", c.name, run.Env["SERF_USER_LTIME"])
		}
		ltimes = append(ltimes, run.Env["SERF_USER_LTIME"])
		if run.Stdin != "payload\n" {
			t.Errorf("%s handler stdin = %q, want %q", c.name, run.Stdin, "payload\n")
		}
	}
	if ltimes[0] != ltimes[1] {
		t.Errorf("SERF_USER_LTIME differs between nodes: %q", ltimes)
	}
	n1.WaitOutput(eventTimeout, "[INFO] agent: Received event: user-event: deploy\n")
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestQueryHandler checks that a query:load handler's output is the
// node's response, and that a handler failing on another node sends none
// and is logged.
func TestQueryHandler(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	envDir := t.TempDir()
	good := writeScript(t, dir, "load.sh", "env | grep '^SERF_' | sort > "+filepath.Join(envDir, "env")+
		"\nprintf 'load average: 0.42\\n'\n")
	bad := writeScript(t, dir, "broken.sh", "echo broken\nexit 3\n")
	n1 := startNode(t, "n1", "-event-handler", "query:load="+good)
	n2 := startNode(t, "n2", "-event-handler", "query:load="+bad, "-join="+n1.Bind)
	n1.WaitStatus(eventTimeout, "n2", "alive")

	// A longer timeout than the local profile's 1.6 s default, so that two
	// busy cores do not miss a response.
	out := n1.MustCLI("query", "-format=json", "-timeout=5s", "load")
	var res struct {
		Acks      []string
		Responses map[string]string
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("serf query -format=json: %v in %q", err, out)
	}
	sort.Strings(res.Acks)
	if want := []string{"n1", "n2"}; !slices.Equal(res.Acks, want) {
		t.Errorf("query acks = %q, want %q", res.Acks, want)
	}
	if want := map[string]string{"n1": "load average: 0.42\n"}; !mapsEqual(res.Responses, want) {
		t.Errorf("query responses = %q, want %q", res.Responses, want)
	}
	n2.WaitOutput(eventTimeout, fmt.Sprintf("[ERR] agent: Error invoking script '%s': exit status 3\n", bad))
	n1.WaitOutput(eventTimeout, "[INFO] agent: Received event: query: load\n")

	env := map[string]string{}
	for _, kv := range readLines(filepath.Join(envDir, "env")) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	want := map[string]string{
		"SERF_EVENT":       "query",
		"SERF_QUERY_NAME":  "load",
		"SERF_QUERY_LTIME": env["SERF_QUERY_LTIME"],
		"SERF_SELF_NAME":   "n1",
		"SERF_SELF_ROLE":   "",
	}
	if !mapsEqual(env, want) || env["SERF_QUERY_LTIME"] == "" {
		t.Errorf("query handler env = %v, want %v with an LTIME", env, want)
	}
}

// TestSlowHandlerDoesNotDelay runs handlers that hang and
// checks that neither failure detection nor other handlers wait for them.
// (In Serf a slow script holds up every later event; ours runs each
// handler apart.)
func TestSlowHandlerDoesNotDelay(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fast := filepath.Join(dir, "fast.log")
	// The slow scripts wait until the test ends (its directory may be
	// gone before they see the release file): they outlive the agent, as
	// in Serf.
	release := filepath.Join(dir, "release")
	t.Cleanup(func() { _ = os.WriteFile(release, nil, 0o644) })
	hang := "until [ -e " + release + " ] || [ ! -d " + dir + " ]; do sleep 0.1; done"
	n1 := startNode(t, "n1",
		"-event-handler", "member-join="+hang,
		"-event-handler", "user:slow="+hang,
		"-event-handler", "user:fast=echo fast >> "+fast,
		"-event-handler", "member-failed=echo $SERF_EVENT >> "+fast)
	n2 := startNode(t, "n2", "-join="+n1.Bind)
	n3 := startNode(t, "n3", "-join="+n1.Bind)
	n1.WaitMembers(eventTimeout, map[string]string{"n1": "alive", "n2": "alive", "n3": "alive"})
	n1.WaitOutput(eventTimeout, "[WARN] agent: Script '"+hang+"' slow, execution exceeding 1s\n")

	n2.MustCLI("event", "-coalesce=false", "slow")
	n1.WaitOutput(eventTimeout, "[INFO] agent: Received event: user-event: slow\n")
	start := time.Now()
	n2.MustCLI("event", "-coalesce=false", "fast")
	waitLines(t, fast, 1, 10*time.Second)
	t.Logf("user:fast ran %v after it was sent", time.Since(start))

	// Failure detection takes a few probe intervals with the local
	// profile; a blocked event loop would not change memberlist, but the
	// member-failed handler must run although member-join is stuck.
	start = time.Now()
	n3.Kill()
	n1.WaitStatus(failTimeout, "n3", "failed")
	t.Logf("n3 seen failed %v after kill -9", time.Since(start))
	if got := waitLines(t, fast, 2, eventTimeout); got[1] != "member-failed" {
		t.Errorf("fast.log = %q, want fast then member-failed", got)
	}
}
