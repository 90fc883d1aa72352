package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/oracle"
	"github.com/openserf/serf/internal/testutil/wait"
)

// outliveScript is a user:deploy handler that touches <dir>/started,
// waits for <dir>/release (or for dir to go, at the end of the test),
// writes to stdout in a subshell and keeps its exit status in
// <dir>/stdout (141 is a death by SIGPIPE), then touches <dir>/marker.
func outliveScript(dir string) string {
	return fmt.Sprintf(`touch %[1]s/started
until [ -e %[1]s/release ] || [ ! -d %[1]s ]; do sleep 0.05; done
(echo to-stdout); echo $? > %[1]s/stdout.tmp; mv %[1]s/stdout.tmp %[1]s/stdout
touch %[1]s/marker
`, dir)
}

// outlived is what became of a handler script that was running when its
// agent stopped.
type outlived struct {
	Code    int    // the agent's exit code
	Running bool   // the script was still running once the agent had exited
	Stdout  string // the status of a write to stdout after that
}

// agentStops are the ways an operator stops an agent, with what Serf
// 0.11.0 does to a running handler script in each: it leaves the script
// running; the script finishes after the agent has exited; its output
// pipe has no reader then, so a write to stdout dies of SIGPIPE.
var agentStops = []struct {
	name string
	want outlived
}{
	{"SIGINT", outlived{Code: 0, Running: true, Stdout: "141"}},
	{"SIGTERM", outlived{Code: 1, Running: true, Stdout: "141"}},
	{"leave", outlived{Code: 0, Running: true, Stdout: "141"}},
}

// runOutlive starts bin's agent with outliveScript, sends it "deploy",
// stops the agent with stop (a name in agentStops) while the script
// waits, lets the script go on once the agent has exited, and waits for
// its marker.
func runOutlive(t *testing.T, bin, stop string) outlived {
	t.Helper()
	if _, err := os.Stat("/proc/self/cmdline"); err != nil {
		t.Skip("needs /proc to look for the script's process")
	}
	dir := t.TempDir()
	scriptDir := t.TempDir()
	script := writeScript(t, scriptDir, "deploy.sh", outliveScript(dir))
	release := func() {
		if err := os.WriteFile(filepath.Join(dir, "release"), nil, 0o644); err != nil {
			t.Error(err)
		}
	}
	// However the test ends, the script ends with it.
	t.Cleanup(release)

	a := newAddrs(t, "n1")
	p := startAgentAt(t, bin, a, "-event-handler", "user:deploy="+script)
	p.WaitSignalReady()
	if out, err := runCLI(bin, "event", "-rpc-addr="+a.RPC, "-coalesce=false", "deploy"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	waitFile(t, filepath.Join(dir, "started"))

	start := time.Now()
	switch stop {
	case "SIGINT":
		p.Signal(syscall.SIGINT)
	case "SIGTERM":
		p.Signal(syscall.SIGTERM)
	case "leave":
		if out, err := runCLI(bin, "leave", "-rpc-addr="+a.RPC); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	default:
		t.Fatalf("unknown way to stop an agent: %q", stop)
	}
	var r outlived
	r.Code = p.WaitExit(exitTimeout)
	t.Logf("%s: agent exited %v after %s", bin, time.Since(start), stop)
	r.Running = len(processesMentioning(scriptDir)) > 0
	if _, err := os.Stat(filepath.Join(dir, "marker")); err == nil {
		t.Fatal("the script finished before it was released")
	}

	release()
	waitFile(t, filepath.Join(dir, "marker"))
	data, err := os.ReadFile(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	r.Stdout = strings.TrimSpace(string(data))
	return r
}

// waitFile waits until path exists.
func waitFile(t *testing.T, path string) {
	t.Helper()
	wait.For(t, eventTimeout, func() error {
		_, err := os.Stat(path)
		return err
	})
}

// outlivesEveryStop runs runOutlive with bin once for each of
// agentStops, in parallel, and checks that the script fared as it does
// under Serf 0.11.0.
func outlivesEveryStop(t *testing.T, bin string) {
	t.Helper()
	for _, stop := range agentStops {
		t.Run(stop.name, func(t *testing.T) {
			t.Parallel()
			if got := runOutlive(t, bin, stop.name); got != stop.want {
				t.Errorf("%s: after %s: %+v, want %+v (as Serf 0.11.0)", bin, stop.name, got, stop.want)
			}
		})
	}
}

// TestHandlerOutlivesAgent stops an agent in each way while a handler
// script runs: the agent exits at once, and the script is left to finish
// after it, as in Serf (TestInteropHandlerOutlivesAgent).
func TestHandlerOutlivesAgent(t *testing.T) {
	t.Parallel()
	outlivesEveryStop(t, serfBin)
}

// TestInteropHandlerOutlivesAgent runs TestHandlerOutlivesAgent's
// scenario against real Serf 0.11.0, the reference for its expectations.
func TestInteropHandlerOutlivesAgent(t *testing.T) {
	t.Parallel()
	outlivesEveryStop(t, oracle.Available(t, "v0.11.0"))
}

// queryOrderHandlers are handlers of which two match each query: a slow
// one for the query's name first, then a fast one for every event. For
// "first" the slow one prints, for "second" it prints nothing.
var queryOrderHandlers = []string{
	"-event-handler", "query:first=sleep 0.5; echo slow",
	"-event-handler", "query:second=sleep 0.5",
	"-event-handler", "*=echo fast",
}

// queryOrderRuns is how many times each query is sent.
const queryOrderRuns = 3

// alreadySent is what an agent logs for the output of every handler
// after the one that answered a query.
const alreadySent = "[WARN] agent: Failed to respond to query 'query: first': failed to respond to key query: response already sent\n"

// runQueryOrder starts two agents of bin with queryOrderHandlers, sends
// each query queryOrderRuns times, and checks that every response is the
// first output in configuration order, whichever handler finished first,
// and that each agent logs every later output as refused.
func runQueryOrder(t *testing.T, bin string) {
	t.Helper()
	a1, a2 := newAddrs(t, "n1"), newAddrs(t, "n2")
	n1 := startAgentAt(t, bin, a1, queryOrderHandlers...)
	n1.WaitRunning()
	n2 := startAgentAt(t, bin, a2, append(queryOrderHandlers, "-join="+a1.Bind)...)
	n2.WaitRunning()
	n1.WaitStatus(eventTimeout, "n2", "alive")
	n2.WaitStatus(eventTimeout, "n1", "alive")

	for _, c := range []struct {
		query, want string
	}{
		{"first", "slow\n"},
		{"second", "fast\n"},
	} {
		for run := range queryOrderRuns {
			out, err := runCLI(bin, "query", "-rpc-addr="+a1.RPC, "-format=json", "-timeout=3s", c.query)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			var res struct {
				Responses map[string]string
			}
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("serf query -format=json: %v in %q", err, out)
			}
			if want := map[string]string{"n1": c.want, "n2": c.want}; !mapsEqual(res.Responses, want) {
				t.Errorf("%s: query %s, run %d: responses = %q, want %q", bin, c.query, run+1, res.Responses, want)
			}
		}
	}
	for _, n := range []*agentProc{n1, n2} {
		n.WaitFor(eventTimeout, func() error {
			if got := strings.Count(n.Output(), alreadySent); got != queryOrderRuns {
				return fmt.Errorf("agent %s logged %q %d times, want %d", n.Name, alreadySent, got, queryOrderRuns)
			}
			return nil
		})
		if strings.Contains(n.Output(), "Failed to respond to query 'query: second'") {
			t.Errorf("agent %s refused an answer to query second:\n%s", n.Name, n.Output())
		}
	}
}

// TestQueryHandlerOrder checks that with several handlers for a query
// the response is always the first output in configuration order, as in
// Serf (TestInteropQueryHandlerOrder), not that of the fastest handler.
func TestQueryHandlerOrder(t *testing.T) {
	t.Parallel()
	runQueryOrder(t, serfBin)
}

// TestInteropQueryHandlerOrder runs TestQueryHandlerOrder's scenario
// against real Serf 0.11.0, the reference for its expectations.
func TestInteropQueryHandlerOrder(t *testing.T) {
	t.Parallel()
	runQueryOrder(t, oracle.Available(t, "v0.11.0"))
}
