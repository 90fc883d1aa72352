//go:build unix

package event

import (
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/cluster"
	"github.com/openserf/serf/internal/testutil/syncbuf"
	"github.com/openserf/serf/internal/testutil/wait"
	"github.com/openserf/serf/serf"
)

// waitTimeout bounds every wait for a script; generous for -race on
// small machines.
const waitTimeout = 10 * time.Second

// logBuffer collects a Runner's log lines.
type logBuffer struct {
	syncbuf.Buffer
}

// count is how many times s occurs in the log.
func (b *logBuffer) count(s string) int { return strings.Count(b.String(), s) }

// waitFor waits until the log holds s n times.
func (b *logBuffer) waitFor(tb testing.TB, s string, n int) {
	tb.Helper()
	wait.For(tb, waitTimeout, func() error {
		if got := b.count(s); got < n {
			return fmt.Errorf("log has %q %d times, want %d; log:\n%s", s, got, n, b)
		}
		return nil
	})
}

// startRunner starts a Runner logging into the returned buffer, shut
// down at cleanup.
func startRunner(tb testing.TB, cfg RunnerConfig) (*Runner, *logBuffer) {
	tb.Helper()
	logs := &logBuffer{}
	cfg.Logger = log.New(logs, "", 0)
	r := NewRunner(cfg)
	tb.Cleanup(func() {
		r.Shutdown()
		if tb.Failed() {
			tb.Logf("runner log:\n%s", logs)
		}
	})
	return r, logs
}

// specs parses handlers, failing tb if any is invalid.
func specs(tb testing.TB, handlers ...string) []Spec {
	tb.Helper()
	s, err := ParseSpecs(handlers)
	if err != nil {
		tb.Fatalf("ParseSpecs(%q) error: %v", handlers, err)
	}
	return s
}

// readFile returns the file's content, "" if it does not exist yet.
func readFile(tb testing.TB, path string) string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		tb.Fatal(err)
	}
	return string(b)
}

// waitLines waits until the file has n lines and returns them.
func waitLines(tb testing.TB, path string, n int) []string {
	tb.Helper()
	var lines []string
	wait.For(tb, waitTimeout, func() error {
		lines = strings.Split(strings.TrimSuffix(readFile(tb, path), "\n"), "\n")
		if len(lines) == 1 && lines[0] == "" {
			lines = nil
		}
		if len(lines) < n {
			return fmt.Errorf("%s has %d lines %q, want %d", filepath.Base(path), len(lines), lines, n)
		}
		return nil
	})
	return lines
}

// path joins a test directory and a file name, quoted for the shell.
func path(dir, name string) string { return "'" + filepath.Join(dir, name) + "'" }

// hold returns a shell command that waits until release is called, or
// until the test ends, whichever comes first: a script that outlives the
// Runner (Shutdown leaves scripts running) ends with the test.
func hold(tb testing.TB, dir string) (block string, release func()) {
	tb.Helper()
	name := filepath.Join(dir, "release")
	release = func() {
		if err := os.WriteFile(name, nil, 0o644); err != nil && !errors.Is(err, os.ErrExist) {
			tb.Error(err)
		}
	}
	tb.Cleanup(release)
	// The test's directory goes at its end, with the release file, maybe
	// before the script has seen it.
	return "until [ -e " + path(dir, "release") + " ] || [ ! -d '" + dir + "' ]; do sleep 0.02; done", release
}

func TestRunnerEnvAndStdin(t *testing.T) {
	t.Setenv("EVENT_TEST_INHERITED", "yes")
	dir := t.TempDir()
	self := serf.Member{Name: "node1", Tags: map[string]string{"role": "web", "my-tag.x": "v 1"}}
	r, logs := startRunner(t, RunnerConfig{
		Self: func() serf.Member { return self },
		Specs: specs(t,
			"user:deploy=env > "+path(dir, "env")+"; cat > "+path(dir, "stdin"),
			"member-join=cat > "+path(dir, "members"),
		),
	})

	r.Handle(userEvent("deploy", 42, "payload"))
	r.Handle(userEvent("other", 43, "not for us"))
	join := serf.MemberEvent{Type: serf.EventMemberJoin, Members: []serf.Member{
		{Name: "n2", Addr: net.ParseIP("127.0.0.12"), Tags: map[string]string{"role": "db", "my-tag.x": "v 1"}},
		{Name: "n\t3", Addr: net.ParseIP("127.0.0.13"), Tags: map[string]string{"role": "a\nb"}},
	}}
	r.Handle(join)
	logs.waitFor(t, "script output: ", 2)

	env := strings.Split(readFile(t, filepath.Join(dir, "env")), "\n")
	for _, want := range []string{
		"EVENT_TEST_INHERITED=yes",
		"SERF_EVENT=user",
		"SERF_SELF_NAME=node1",
		"SERF_SELF_ROLE=web",
		"SERF_TAG_ROLE=web",
		"SERF_TAG_MY_TAG_X=v 1",
		"SERF_USER_EVENT=deploy",
		"SERF_USER_LTIME=42",
	} {
		if !slices.Contains(env, want) {
			t.Errorf("script environment lacks %q; it is:\n%s", want, strings.Join(env, "\n"))
		}
	}
	for _, v := range env {
		if strings.HasPrefix(v, "SERF_QUERY_") {
			t.Errorf("user event script environment has %q", v)
		}
	}
	if got, want := readFile(t, filepath.Join(dir, "stdin")), "payload\n"; got != want {
		t.Errorf("user event stdin = %q, want %q", got, want)
	}
	want := "n2\t127.0.0.12\tdb\tmy-tag.x=v 1,role=db\n" +
		"n\\t3\t127.0.0.13\ta\\nb\trole=a\\nb\n"
	if got := readFile(t, filepath.Join(dir, "members")); got != want {
		t.Errorf("member-join stdin = %q, want %q", got, want)
	}
	if got := logs.count("[DEBUG] agent: Event 'user' script output: \n"); got != 1 {
		t.Errorf("log has the user script's empty output %d times, want 1", got)
	}
}

// TestRunnerSelfAtRunTime checks that Self is read for every run.
func TestRunnerSelfAtRunTime(t *testing.T) {
	role := make(chan string, 2)
	role <- "one"
	role <- "two"
	r, logs := startRunner(t, RunnerConfig{
		Self: func() serf.Member {
			return serf.Member{Name: "n", Tags: map[string]string{"role": <-role}}
		},
		Specs: specs(t, `echo "$SERF_SELF_ROLE"`),
	})
	r.Handle(userEvent("a", 1, ""))
	r.Handle(userEvent("b", 2, ""))
	logs.waitFor(t, "script output: ", 2)
	for _, want := range []string{"script output: one\n", "script output: two\n"} {
		if logs.count(want) != 1 {
			t.Errorf("log lacks %q", want)
		}
	}
}

func TestRunnerOutputTruncated(t *testing.T) {
	script := `head -c 20000 /dev/zero | tr '\0' a; printf END >&2`
	r, logs := startRunner(t, RunnerConfig{Specs: specs(t, "user="+script)})
	r.Handle(userEvent("big", 1, ""))
	logs.waitFor(t, "script output: ", 1)

	_, out, _ := strings.Cut(logs.String(), "[DEBUG] agent: Event 'user' script output: ")
	out, _, _ = strings.Cut(out, "\n")
	if want := strings.Repeat("a", outputLimit-3) + "END"; out != want {
		t.Errorf("logged output is %d bytes ending %q, want %d bytes ending %q",
			len(out), out[max(0, len(out)-10):], len(want), want[len(want)-10:])
	}
}

func TestRunnerFailure(t *testing.T) {
	script := "echo oops; exit 3"
	r, logs := startRunner(t, RunnerConfig{Specs: specs(t, "user="+script)})
	r.Handle(userEvent("x", 1, ""))
	logs.waitFor(t, "[WARN]", 1)
	want := "[DEBUG] agent: Event 'user' script output: oops\n" +
		"[ERR] agent: Error invoking script 'echo oops; exit 3': exit status 3\n" +
		"[WARN] agent: Event 'user' script 'echo oops; exit 3' output: oops\n"
	if got := logs.String(); got != want {
		t.Errorf("log =\n%s\nwant\n%s", got, want)
	}
}

func TestRunnerStartFailure(t *testing.T) {
	r, logs := startRunner(t, RunnerConfig{
		Shell: []string{"/nonexistent/shell", "-c"},
		Specs: specs(t, "user=true"),
	})
	r.Handle(userEvent("x", 1, ""))
	logs.waitFor(t, "[ERR]", 1)
	r.Shutdown()
	want := "[ERR] agent: Error invoking script 'true': fork/exec /nonexistent/shell: no such file or directory\n"
	if got := logs.String(); got != want {
		t.Errorf("log =\n%s\nwant\n%s", got, want)
	}
}

func TestRunnerUnknownEvent(t *testing.T) {
	r, logs := startRunner(t, RunnerConfig{Specs: specs(t, "true")})
	r.Handle(unknownEvent{})
	logs.waitFor(t, "[ERR]", 1)
	want := "[ERR] agent: Error invoking script 'true': Unknown event type: unknown-event(99)\n"
	if got := logs.String(); got != want {
		t.Errorf("log =\n%s\nwant\n%s", got, want)
	}
}

// querier starts a node named q1 and returns a function that sends it a
// query and returns the query as delivered to the node (for a Runner's
// Handle) and the collector of the responses.
func querier(tb testing.TB) func(name, payload string, timeout time.Duration) (*serf.Query, *serf.QueryResponse) {
	tb.Helper()
	eventCh := make(chan serf.Event, 64)
	conf := cluster.Config("q1")
	conf.EventCh = eventCh
	node := cluster.Start(tb, conf)
	return func(name, payload string, timeout time.Duration) (*serf.Query, *serf.QueryResponse) {
		tb.Helper()
		resp, err := node.Serf.Query(name, []byte(payload), &serf.QueryParam{Timeout: timeout})
		if err != nil {
			tb.Fatalf("Query(%q) error: %v", name, err)
		}
		deadline := time.After(waitTimeout)
		for {
			select {
			case e := <-eventCh:
				if q, ok := e.(*serf.Query); ok && q.Name == name {
					return q, resp
				}
			case <-deadline:
				tb.Fatalf("query %q not delivered", name)
			}
		}
	}
}

func TestRunnerQuery(t *testing.T) {
	query := querier(t)
	r, logs := startRunner(t, RunnerConfig{Specs: specs(t,
		"query:q=echo answer; cat",
		"query:fail=echo no; exit 1",
		"query:twice=echo one",
		"query:twice=echo two",
	)})

	q, resp := query("q", "hi", 5*time.Second)
	r.Handle(q)
	select {
	case nr := <-resp.ResponseCh():
		if nr.From != "q1" || string(nr.Payload) != "answer\nhi\n" {
			t.Errorf("response = %q from %q, want %q from %q", nr.Payload, nr.From, "answer\nhi\n", "q1")
		}
	case <-time.After(waitTimeout):
		t.Fatal("no response to query q")
	}

	// A failed script does not answer: the responses close at the
	// deadline with none.
	q, resp = query("fail", "", time.Second)
	r.Handle(q)
	for nr := range resp.ResponseCh() {
		t.Errorf("failed script answered %q", nr.Payload)
	}
	logs.waitFor(t, "[ERR] agent: Error invoking script 'echo no; exit 1': exit status 1", 1)

	// Two handlers answer one query: the first is the response, the
	// second is refused, as in Serf.
	q, resp = query("twice", "", 5*time.Second)
	r.Handle(q)
	logs.waitFor(t, "[WARN] agent: Failed to respond to query 'query: twice': failed to respond to key query: response already sent\n", 1)
	select {
	case nr := <-resp.ResponseCh():
		if p := string(nr.Payload); p != "one\n" {
			t.Errorf("response = %q, want %q", p, "one\n")
		}
	case <-time.After(waitTimeout):
		t.Fatal("no response to query twice")
	}
}

// TestRunnerQueryHandlerOrder runs two handlers for one query, a slow
// one first in the configuration and a fast one after it. As in Serf,
// which runs them one after the other, the response is the first
// output in configuration order, whichever finishes first: the slow
// one's if it prints anything, else the fast one's, sent only once the
// slow one has finished.
func TestRunnerQueryHandlerOrder(t *testing.T) {
	query := querier(t)
	for _, c := range []struct {
		name      string
		slowPrint string // what the slow, earlier handler prints
		want      string
		refused   int // how many outputs Respond refuses
	}{
		{name: "earlier prints nothing", slowPrint: "", want: "fast\n"},
		{name: "both print", slowPrint: "slow", want: "slow\n", refused: 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			block, release := hold(t, dir)
			slow := block + "; touch " + path(dir, "slow-done")
			if c.slowPrint != "" {
				slow += "; echo " + c.slowPrint
			}
			fast := "echo fast"
			r, logs := startRunner(t, RunnerConfig{Specs: specs(t, "query:pick="+slow, "*="+fast)})

			q, resp := query("pick", "", 10*time.Second)
			r.Handle(q)
			// The fast handler is done; the slow one waits for release.
			logs.waitFor(t, "[DEBUG] agent: Event 'query' script output: fast\n", 1)
			release()
			select {
			case nr := <-resp.ResponseCh():
				if got := string(nr.Payload); got != c.want {
					t.Errorf("response = %q, want %q", got, c.want)
				}
				if _, err := os.Stat(filepath.Join(dir, "slow-done")); err != nil {
					t.Errorf("response came before the earlier handler finished: %v", err)
				}
			case <-time.After(waitTimeout):
				t.Fatal("no response to query pick")
			}
			logs.waitFor(t, "script output: ", 2)
			line := "[WARN] agent: Failed to respond to query 'query: pick': failed to respond to key query: response already sent\n"
			if c.refused > 0 {
				logs.waitFor(t, line, c.refused)
			}
			r.Shutdown()
			if got := logs.count(line); got != c.refused {
				t.Errorf("log has %q %d times, want %d", line, got, c.refused)
			}
		})
	}
}

// TestRunnerQueryNotRun checks that a query dropped for an earlier
// handler, its queue full or the handler removed by Update, does not
// hold up the answer of a later one: that handler answered nothing.
func TestRunnerQueryNotRun(t *testing.T) {
	query := querier(t)
	for _, c := range []struct {
		name string
		drop func(r *Runner, later Spec)
	}{
		{name: "queue full", drop: func(*Runner, Spec) {}},
		{name: "removed", drop: func(r *Runner, later Spec) { r.Update([]Spec{later}) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			block, _ := hold(t, dir)
			busy := specs(t, "*=touch "+path(dir, "busy")+"; "+block)[0]
			later := specs(t, "query:q=echo later")[0]
			r, logs := startRunner(t, RunnerConfig{QueueDepth: 1, Specs: []Spec{busy, later}})
			r.Handle(userEvent("e", 1, ""))
			waitFile(t, filepath.Join(dir, "busy"))
			q, resp := query("q", "", 10*time.Second)
			if c.name == "queue full" {
				r.Handle(userEvent("e", 2, "")) // fills busy's queue
			}
			r.Handle(q)
			c.drop(r, later)
			select {
			case nr := <-resp.ResponseCh():
				if got := string(nr.Payload); got != "later\n" {
					t.Errorf("response = %q, want %q", got, "later\n")
				}
			case <-time.After(waitTimeout):
				t.Fatalf("no response while the earlier handler is busy; log:\n%s", logs)
			}
		})
	}
}

// TestRunnerQueryDeadline: an earlier handler still running at the
// query's deadline holds up the response of a later one until it is too
// late, as in Serf, where the later one only starts then. Both outputs
// are refused with Serf's message.
func TestRunnerQueryDeadline(t *testing.T) {
	_, logs, resp, release := slowFirst(t, "late", "", 500*time.Millisecond)
	for nr := range resp.ResponseCh() {
		t.Errorf("response %q from %s after the deadline passed with the earlier handler running", nr.Payload, nr.From)
	}
	release()
	line := "[WARN] agent: Failed to respond to query 'query: late': failed to respond to key query: response is past the deadline\n"
	logs.waitFor(t, line, 2)
}

// slowFirst starts a Runner with two handlers for the query name: first
// one that runs before (a shell command; "" for none), waits for release
// and prints slow, then one that prints fast. It sends the query with
// timeout, hands it to the Runner and returns the query's responses.
func slowFirst(t *testing.T, name, before string, timeout time.Duration) (r *Runner, logs *logBuffer, resp *serf.QueryResponse, release func()) {
	t.Helper()
	query := querier(t)
	block, release := hold(t, t.TempDir())
	slow := block + "; echo slow"
	if before != "" {
		slow = before + "; " + slow
	}
	r, logs = startRunner(t, RunnerConfig{Specs: specs(t, "query:"+name+"="+slow, "query:"+name+"=echo fast")})
	q, resp := query(name, "", timeout)
	r.Handle(q)
	return r, logs, resp, release
}

func TestRunnerOrder(t *testing.T) {
	dir := t.TempDir()
	r, _ := startRunner(t, RunnerConfig{Specs: specs(t,
		`user=echo "$SERF_USER_EVENT $SERF_USER_LTIME" >> `+path(dir, "order"))})
	var want []string
	for i := range 5 {
		name := fmt.Sprintf("e%d", i)
		r.Handle(userEvent(name, serf.LamportTime(10+i), ""))
		want = append(want, fmt.Sprintf("%s %d", name, 10+i))
	}
	if got := waitLines(t, filepath.Join(dir, "order"), 5); !reflect.DeepEqual(got, want) {
		t.Errorf("handler ran %q, want %q", got, want)
	}
}

// TestRunnerDuplicateSpec checks Serf's rule that a script listed twice
// for an event runs twice.
func TestRunnerDuplicateSpec(t *testing.T) {
	dir := t.TempDir()
	r, _ := startRunner(t, RunnerConfig{Specs: specs(t,
		"member-join,member-join=echo $SERF_EVENT >> "+path(dir, "runs"))})
	r.Handle(serf.MemberEvent{Type: serf.EventMemberJoin})
	want := []string{"member-join", "member-join"}
	if got := waitLines(t, filepath.Join(dir, "runs"), 2); !reflect.DeepEqual(got, want) {
		t.Errorf("handler ran %q, want %q", got, want)
	}
}

func TestRunnerIsolation(t *testing.T) {
	dir := t.TempDir()
	block, _ := hold(t, dir)
	hung := "touch " + path(dir, "hung") + "; " + block
	r, logs := startRunner(t, RunnerConfig{Specs: specs(t,
		"user:a="+hung,
		"user:b=echo $SERF_USER_LTIME >> "+path(dir, "b"),
	)})
	r.Handle(userEvent("a", 1, ""))
	wait.For(t, waitTimeout, func() error {
		_, err := os.Stat(filepath.Join(dir, "hung"))
		return err
	})
	r.Handle(userEvent("a", 2, ""))
	for i := 3; i <= 5; i++ {
		r.Handle(userEvent("b", serf.LamportTime(i), ""))
	}
	if got, want := waitLines(t, filepath.Join(dir, "b"), 3), []string{"3", "4", "5"}; !reflect.DeepEqual(got, want) {
		t.Errorf("handler b ran %q, want %q", got, want)
	}

	start := time.Now()
	r.Shutdown()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Shutdown took %v with a script hung", d)
	}
	if got := logs.count("[INFO] agent: Script '" + hung + "' still running at shutdown, left to run to its end\n"); got != 1 {
		t.Errorf("log has the detach %d times, want 1", got)
	}
	if got := logs.count("[ERR]"); got != 0 {
		t.Errorf("log has %d errors, want none", got)
	}
}

func TestRunnerDrop(t *testing.T) {
	dir := t.TempDir()
	block, _ := hold(t, dir)
	script := "touch " + path(dir, "started.") + "$SERF_USER_LTIME; " + block
	r, logs := startRunner(t, RunnerConfig{QueueDepth: 1, Specs: specs(t, "user="+script)})
	r.Handle(userEvent("e", 1, ""))
	wait.For(t, waitTimeout, func() error {
		_, err := os.Stat(filepath.Join(dir, "started.1"))
		return err
	})
	r.Handle(userEvent("e", 2, ""))                        // queued
	r.Handle(userEvent("e", 3, ""))                        // dropped
	r.Handle(userEvent("f", 4, ""))                        // dropped
	r.Handle(serf.MemberEvent{Type: serf.EventMemberJoin}) // not matched
	if got := r.Dropped(); got != 2 {
		t.Errorf("Dropped() = %d, want 2", got)
	}
	for _, e := range []string{"user-event: e", "user-event: f"} {
		want := "[WARN] agent: Event handler queue full for '" + script + "', dropping event " + e + "\n"
		if logs.count(want) != 1 {
			t.Errorf("log lacks %q", want)
		}
	}

	r.Shutdown()
	for _, name := range []string{"started.2", "started.3", "started.4"} {
		if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: %v, want it not to exist: queued events are dropped at Shutdown", name, err)
		}
	}
	r.Handle(userEvent("e", 5, ""))
	if got := r.Dropped(); got != 2 {
		t.Errorf("Dropped() after Shutdown and Handle = %d, want 2", got)
	}
}

func TestRunnerUpdate(t *testing.T) {
	dir := t.TempDir()
	a := Spec{Event: "user", Script: "touch " + path(dir, "started.") + "$SERF_USER_LTIME; " +
		"while [ ! -e " + path(dir, "release") + " ]; do sleep 0.01; done; " +
		"echo $SERF_USER_LTIME >> " + path(dir, "a")}
	b := Spec{Event: "user", Script: "echo $SERF_USER_LTIME >> " + path(dir, "b")}
	r, _ := startRunner(t, RunnerConfig{Specs: []Spec{a}})
	handlers := func() []*handler {
		r.lock.Lock()
		defer r.lock.Unlock()
		return slices.Clone(r.handlers)
	}

	r.Handle(userEvent("e", 1, ""))
	wait.For(t, waitTimeout, func() error {
		_, err := os.Stat(filepath.Join(dir, "started.1"))
		return err
	})
	r.Handle(userEvent("e", 2, "")) // queued behind the running script
	ha := handlers()[0]

	r.Update([]Spec{a, b})
	if got := r.Specs(); !reflect.DeepEqual(got, []Spec{a, b}) {
		t.Fatalf("Specs() = %v, want %v", got, []Spec{a, b})
	}
	if handlers()[0] != ha {
		t.Error("Update with an unchanged spec replaced its handler")
	}
	hb := handlers()[1]

	r.Update([]Spec{b})
	if got := r.Specs(); !reflect.DeepEqual(got, []Spec{b}) {
		t.Fatalf("Specs() = %v, want %v", got, []Spec{b})
	}
	if handlers()[0] != hb {
		t.Error("Update replaced the handler of the spec it kept")
	}
	select {
	case <-ha.doneCh:
		t.Fatal("removed handler stopped before its running script ended")
	default:
	}

	// The running script finishes; the queued event is dropped.
	if err := os.WriteFile(filepath.Join(dir, "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	wait.For(t, waitTimeout, func() error {
		select {
		case <-ha.doneCh:
			return nil
		default:
			return errors.New("removed handler still running")
		}
	})
	if got := readFile(t, filepath.Join(dir, "a")); got != "1\n" {
		t.Errorf("removed handler ran %q, want %q", got, "1\n")
	}
	if _, err := os.Stat(filepath.Join(dir, "started.2")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("started.2: %v, want it not to exist: a removed handler drops its queue", err)
	}

	// Events now reach b only; a spec listed twice runs twice.
	r.Handle(userEvent("e", 3, ""))
	waitLines(t, filepath.Join(dir, "b"), 1)
	r.Update([]Spec{b, b})
	if hs := handlers(); len(hs) != 2 || hs[0] != hb || hs[1] == hb {
		t.Errorf("Update([b, b]) handlers = %p, want [%p, a new one]", hs, hb)
	}
	r.Handle(userEvent("e", 4, ""))
	if got, want := waitLines(t, filepath.Join(dir, "b"), 3), []string{"3", "4", "4"}; !reflect.DeepEqual(got, want) {
		t.Errorf("handler b ran %q, want %q", got, want)
	}
	r.Update(nil)
	if got := r.Specs(); len(got) != 0 {
		t.Errorf("Specs() after Update(nil) = %v, want none", got)
	}
}

func TestRunnerTimeout(t *testing.T) {
	dir := t.TempDir()
	// The background sleep is in the script's process group and holds
	// its output: the kill must reach it.
	script := "sleep 61 & echo $! > " + path(dir, "pid") + "; wait"
	r, logs := startRunner(t, RunnerConfig{Timeout: 200 * time.Millisecond, Specs: specs(t, "user="+script)})
	r.Handle(userEvent("e", 1, ""))
	logs.waitFor(t, "[WARN] agent: Script '"+script+"' killed after 200ms\n", 1)
	logs.waitFor(t, "[ERR] agent: Error invoking script '"+script+"': signal: killed\n", 1)

	pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, filepath.Join(dir, "pid"))))
	if err != nil {
		t.Fatalf("background pid: %v", err)
	}
	wait.For(t, waitTimeout, func() error {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("background sleep %d: kill -0 = %v, want ESRCH", pid, err)
		}
		return nil
	})
}

func TestRunnerSlow(t *testing.T) {
	r, logs := startRunner(t, RunnerConfig{SlowThreshold: 50 * time.Millisecond, Specs: specs(t, "user=sleep 0.3")})
	r.Handle(userEvent("e", 1, ""))
	logs.waitFor(t, "script output: ", 1)
	want := "[WARN] agent: Script 'sleep 0.3' slow, execution exceeding 50ms\n" +
		"[DEBUG] agent: Event 'user' script output: \n"
	if got := logs.String(); got != want {
		t.Errorf("log =\n%s\nwant\n%s", got, want)
	}
}

// TestRunnerShutdownEscapedProcess checks that Shutdown does not wait for
// a process that left the script's group and holds its output.
func TestRunnerShutdownEscapedProcess(t *testing.T) {
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("no setsid")
	}
	dir := t.TempDir()
	r, _ := startRunner(t, RunnerConfig{Specs: specs(t,
		"user=setsid sleep 60 & echo $! > "+path(dir, "pid"))})
	r.Handle(userEvent("e", 1, ""))
	var pid int
	wait.For(t, waitTimeout, func() error {
		var err error
		pid, err = strconv.Atoi(strings.TrimSpace(readFile(t, filepath.Join(dir, "pid"))))
		return err
	})
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })

	start := time.Now()
	r.Shutdown()
	if d := time.Since(start); d > killGrace+5*time.Second {
		t.Errorf("Shutdown took %v", d)
	}
}

func TestRunnerShutdownIdempotent(t *testing.T) {
	r, logs := startRunner(t, RunnerConfig{Specs: specs(t, "echo hi")})
	r.Shutdown()
	r.Shutdown()
	r.Update(specs(t, "echo again"))
	r.Handle(userEvent("e", 1, ""))
	if got := r.Specs(); len(got) != 0 {
		t.Errorf("Specs() after Shutdown = %v, want none", got)
	}
	if got := logs.String(); got != "" {
		t.Errorf("log after Shutdown = %q, want nothing", got)
	}
}

func TestNewRunnerDefaults(t *testing.T) {
	shell := []string{"/bin/sh", "-c"}
	cfg := RunnerConfig{Shell: shell, QueueDepth: -1, Timeout: -time.Second, SlowThreshold: -1}
	r := NewRunner(cfg)
	defer r.Shutdown()
	shell[0] = "changed"
	if r.depth != DefaultQueueDepth || r.timeout != 0 || r.slowThreshold != DefaultSlowThreshold ||
		r.shell[0] != "/bin/sh" || r.logger == nil || r.self == nil {
		t.Errorf("NewRunner(%+v) = depth %d, timeout %v, slow %v, shell %q, want the defaults and a copy of the shell",
			cfg, r.depth, r.timeout, r.slowThreshold, r.shell)
	}
	if got := NewRunner(RunnerConfig{}); !reflect.DeepEqual(got.shell, defaultShell()) {
		got.Shutdown()
		t.Errorf("default shell = %q, want %q", got.shell, defaultShell())
	} else {
		got.Shutdown()
	}
}

// A script that closes its input before reading a payload makes the
// write fail, and Serf logs that, for user events and queries.
func TestRunnerPayloadWriteError(t *testing.T) {
	script := "exec 0<&-; sleep 0.1"
	r, logs := startRunner(t, RunnerConfig{Specs: specs(t, "user="+script)})
	// More than a pipe holds, so the write is still going when the
	// script closes its end.
	r.Handle(userEvent("big", 1, strings.Repeat("p", 1<<20)))
	logs.waitFor(t, "[ERR] Error writing payload: ", 1)
	if want := "[ERR] Error writing payload: write |1: broken pipe\n"; !strings.Contains(logs.String(), want) {
		t.Errorf("log =\n%s\nwant a line %q", logs, want)
	}
}
