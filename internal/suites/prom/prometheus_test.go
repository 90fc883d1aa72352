// Package prom_test scrapes a cluster of our agents with a real Prometheus
// server (Debian's prometheus package): the server runs with a config of
// the test's own, scrapes each agent's /metrics on its HTTP listener once
// a second, and the test asks its HTTP query API what it has seen. The
// suite runs when a prometheus binary is on PATH, and with
// SERF_PROMETHEUS=1 (CI) it fails instead of skipping when there is none.
package prom_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/agentproc"
	"github.com/openserf/serf/internal/testutil/cluster"
	"github.com/openserf/serf/internal/testutil/oracle"
	"github.com/openserf/serf/internal/testutil/serfbin"
	"github.com/openserf/serf/internal/testutil/wait"
)

func TestMain(m *testing.M) {
	os.Exit(serfbin.Main(m))
}

// prometheusBin finds the server, or skips (fails with SERF_PROMETHEUS=1).
func prometheusBin(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("SERF_PROMETHEUS") == "1" {
			t.Fatalf("SERF_PROMETHEUS=1 but no prometheus on PATH (Debian package prometheus): %v", err)
		}
		t.Skip("no prometheus on PATH (Debian package prometheus); SERF_PROMETHEUS=1 makes this a failure")
	}
	return bin
}

// startPrometheus runs a server that scrapes targets every second and
// returns the address of its HTTP API. It stops at cleanup.
func startPrometheus(t *testing.T, bin string, targets []string) string {
	t.Helper()
	dir := t.TempDir()
	quoted := make([]string, len(targets))
	for i, tg := range targets {
		quoted[i] = strconv.Quote(tg)
	}
	conf := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: serf
    static_configs:
      - targets: [%s]
`, strings.Join(quoted, ", "))
	confPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := oracle.FreeAddr(t, "127.0.0.1")
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin,
		"--config.file="+confPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
	)
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	agentproc.SetDeathSignal(cmd, false)
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start prometheus: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("prometheus log:\n%s", log.String())
		}
	})
	return addr
}

// query runs an instant query and returns each series' value by the
// value of its "instance" label.
func query(promAddr, q string) (map[string]float64, error) {
	resp, err := http.Get("http://" + promAddr + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("query %q: %s %s", q, body.Status, body.Error)
	}
	out := map[string]float64{}
	for _, r := range body.Data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("query %q: value %v: %w", q, r.Value[1], err)
		}
		out[r.Metric["instance"]] = v
	}
	return out, nil
}

// A real Prometheus server scrapes three agents: every one reports three
// alive members, and a user event moves the event counter on each.
func TestPrometheusScrapesCluster(t *testing.T) {
	promBin := prometheusBin(t)
	bin := serfbin.Path(t)

	var agents []*agentproc.Agent
	var targets []string
	var first string // the first agent's gossip address, for the others to join
	for i := range 3 {
		ip := cluster.IP()
		free := oracle.FreeAddrs(t, ip, 3)
		httpAddr, bind := free[0], free[1]
		args := []string{
			"-node=prom" + strconv.Itoa(i), "-profile=local",
			"-bind=" + bind, "-rpc-addr=" + free[2],
			"-http-addr=" + httpAddr,
		}
		if i == 0 {
			first = bind
		} else {
			args = append(args, "-join="+first)
		}
		a := agentproc.Start(t, bin, args...)
		a.WaitRPC(20 * time.Second)
		agents = append(agents, a)
		targets = append(targets, httpAddr)
	}
	promAddr := startPrometheus(t, promBin, targets)

	want := func(q string, ok func(float64) bool, what string) {
		t.Helper()
		wait.For(t, 60*time.Second, func() error {
			got, err := query(promAddr, q)
			if err != nil {
				return err
			}
			for _, tg := range targets {
				v, found := got[tg]
				if !found || !ok(v) {
					return fmt.Errorf("%s for %s = %v (found %v), want %s; all: %v", q, tg, v, found, what, got)
				}
			}
			return nil
		})
	}
	want(`serf_members{status="alive"}`, func(v float64) bool { return v == 3 }, "3")
	want(`up{job="serf"}`, func(v float64) bool { return v == 1 }, "1")

	// go-metrics makes a counter's series at its first increment: before
	// any user event there is none.
	if before, err := query(promAddr, `serf_events`); err != nil || len(before) != 0 {
		t.Fatalf("serf_events before any user event = %v, %v; want no series", before, err)
	}
	agents[0].MustCLI("event", "prom-check", "x")
	want(`serf_events`, func(v float64) bool { return v >= 1 }, "at least 1")
}
