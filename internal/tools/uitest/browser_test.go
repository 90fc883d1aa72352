package uitest

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"go.uber.org/goleak"

	"github.com/openserf/serf/internal/tools/headless"

	"github.com/openserf/serf/internal/testutil/agentproc"
	"github.com/openserf/serf/internal/testutil/oracle"
	"github.com/openserf/serf/internal/testutil/serfbin"
	"github.com/openserf/serf/internal/testutil/wait"
)

var update = flag.Bool("update", false, "write the screenshots of docs/ui/")

// bin is our serf, built once for the package.
var bin string

func TestMain(m *testing.M) {
	code := serfbin.Run(m, "", &bin)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// chromium finds the browser: SERF_CHROMIUM, else the usual names on
// PATH. The tests are skipped without SERF_BROWSER=1 and fail without a
// browser when it is set.
func chromium(t *testing.T) string {
	t.Helper()
	if os.Getenv("SERF_BROWSER") != "1" {
		t.Skip("browser tests run with SERF_BROWSER=1")
	}
	p := headless.Find()
	if p == "" {
		t.Fatal("SERF_BROWSER=1 but no chromium found (install Debian's chromium, or set SERF_CHROMIUM)")
	}
	return p
}

// tab is one headless browser tab and what it reported: JavaScript
// dialogs (alert and friends, which the UI never opens) and uncaught
// exceptions.
type tab struct {
	t   *testing.T
	ctx context.Context

	mu         sync.Mutex
	dialogs    []string
	exceptions []string
}

// newTab starts a headless Chromium of width x height and opens a tab;
// both end at cleanup. A dialog is recorded and dismissed at once, so
// that it cannot block the page.
func newTab(t *testing.T, width, height int) *tab {
	t.Helper()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		headless.Options(chromium(t), chromedp.WindowSize(width, height))...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	tb := &tab{t: t, ctx: ctx}
	var listeners sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		listeners.Wait()
	})
	// Start the browser, then subscribe before any page is loaded.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), int64(height))); err != nil {
		t.Fatalf("viewport: %v", err)
	}
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	exceptions := chromedp.Events(ctx, runtime.ExceptionThrown)
	listeners.Go(func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.dialogs = append(tb.dialogs, string(ev.Type)+": "+ev.Message)
			tb.mu.Unlock()
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	})
	listeners.Go(func() {
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			msg := ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				msg += " " + ev.ExceptionDetails.Exception.Description
			}
			tb.mu.Lock()
			tb.exceptions = append(tb.exceptions, msg)
			tb.mu.Unlock()
		}
	})
	return tb
}

// do runs steps, failing the test on an error.
func (tb *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, steps...); err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tb.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitJS waits until the JavaScript expression is truthy, or fails the
// test with what the expression describe shows at the deadline.
func (tb *tab) waitJS(timeout time.Duration, expr, describe string) {
	tb.t.Helper()
	_, err := chromedp.Run(tb.ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	if err != nil {
		got, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](describe))
		tb.t.Fatalf("waiting %v for %s: %v; the page shows %s", timeout, expr, err, got)
	}
}

// check fails the test if the page opened a dialog or threw.
func (tb *tab) check() {
	tb.t.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if len(tb.dialogs) > 0 {
		tb.t.Errorf("the page opened dialogs %q, want none", tb.dialogs)
	}
	if len(tb.exceptions) > 0 {
		tb.t.Errorf("the page threw %q, want no exception", tb.exceptions)
	}
}

// screenshot writes the viewport to docs/ui/name.png with -update.
func (tb *tab) screenshot(name string) {
	tb.t.Helper()
	if !*update {
		return
	}
	buf, err := chromedp.Run(tb.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.t.Fatalf("screenshot %s: %v", name, err)
	}
	root, err := oracle.ModuleRoot()
	if err != nil {
		tb.t.Fatal(err)
	}
	dir := filepath.Join(root, "docs", "ui")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

// node is one agent of a test cluster.
type node struct {
	name string
	http string // host:port of its HTTP listener
	proc *agentproc.Agent
	log  string // the file its user event handler appends to
}

// url is the address of the UI on n.
func (n *node) url() string { return "http://" + n.http + "/ui/" }

// tuning makes failures quick to find: a probe every 200 ms and a
// suspicion of at most 2 × 200 ms before a member is declared failed.
const tuning = `{"probe_interval": "200ms", "probe_timeout": "100ms", "gossip_interval": "100ms",
 "suspicion_mult": 2, "suspicion_max_timeout_mult": 1}`

// detectBound is how long, at most, the members take to find a killed
// one failed with tuning, with room for a loaded machine.
const detectBound = 5 * time.Second

// clusterOpts are the settings of a test cluster.
type clusterOpts struct {
	n       int
	config  string           // more JSON configuration for every agent
	tags    map[int][]string // -tag flags by agent index
	extra   []string         // more agent flags
	perNode func(i int) []string
}

// startCluster starts o.n agents of our serf with the HTTP listener and
// the UI on 127.0.0.1, joined to the first, each with a user event
// handler that appends "<node> <event> <payload>" to its log and a query
// handler "uiping" that answers "pong from <node>"; it waits until every
// agent sees all alive.
func startCluster(t *testing.T, o clusterOpts) []*node {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "tuning.json")
	if err := os.WriteFile(conf, []byte(tuning), 0o644); err != nil {
		t.Fatal(err)
	}
	confs := []string{"-config-file=" + conf}
	if o.config != "" {
		extra := filepath.Join(dir, "extra.json")
		if err := os.WriteFile(extra, []byte(o.config), 0o600); err != nil {
			t.Fatal(err)
		}
		confs = append(confs, "-config-file="+extra)
	}
	query := filepath.Join(dir, "query.sh")
	if err := os.WriteFile(query, []byte("#!/bin/sh\necho \"pong from $SERF_SELF_NAME\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var nodes []*node
	var first string
	for i := range o.n {
		name := fmt.Sprintf("web%d", i+1)
		n := &node{name: name, http: oracle.FreeAddr(t, "127.0.0.1"), log: filepath.Join(dir, name+".events")}
		handler := filepath.Join(dir, name+".sh")
		script := fmt.Sprintf("#!/bin/sh\nprintf '%%s %%s %%s\\n' \"$SERF_SELF_NAME\" \"$SERF_USER_EVENT\" \"$(cat)\" >> %q\n", n.log)
		if err := os.WriteFile(handler, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		bind := oracle.FreeAddr(t, "127.0.0.1")
		args := append([]string{"-node=" + name, "-bind=" + bind, "-http-addr=" + n.http, "-ui",
			"-event-handler=user=" + handler, "-event-handler=query:uiping=" + query, "-log-level=debug"}, confs...)
		for _, tag := range o.tags[i] {
			args = append(args, "-tag", tag)
		}
		args = append(args, o.extra...)
		if o.perNode != nil {
			args = append(args, o.perNode(i)...)
		}
		if i == 0 {
			first = bind
		} else {
			args = append(args, "-join="+first)
		}
		n.proc = agentproc.Start(t, bin, args...)
		n.proc.WaitOutput(30*time.Second, "Serf agent running!")
		nodes = append(nodes, n)
	}
	for _, n := range nodes {
		n.proc.WaitMembers(30*time.Second, statuses(nodes, "alive"))
	}
	return nodes
}

// statuses maps every node's name to status.
func statuses(nodes []*node, status string) map[string]string {
	m := map[string]string{}
	for _, n := range nodes {
		m[n.name] = status
	}
	return m
}

// memberStatus asks n's HTTP API for name's status ("" when unknown).
func memberStatus(n *node, token, name string) (string, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+n.http+"/v1/members", nil)
	if err != nil {
		return "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var body struct {
		Members []struct{ Name, Status string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return "", err
	}
	for _, m := range body.Members {
		if m.Name == name {
			return m.Status, nil
		}
	}
	return "", nil
}

// waitLog waits until n's user event handler has logged a line holding
// want.
func waitLog(t *testing.T, n *node, want string) {
	t.Helper()
	wait.For(t, 15*time.Second, func() error {
		b, err := os.ReadFile(n.log)
		if err != nil {
			return fmt.Errorf("%s's handler has logged nothing: %v", n.name, err)
		}
		if !strings.Contains(string(b), want) {
			return fmt.Errorf("%s's handler logged %q, want a line with %q", n.name, b, want)
		}
		return nil
	})
}

// jsString quotes s for a JavaScript expression.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
