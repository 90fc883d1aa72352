package agent

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	metrics "github.com/hashicorp/go-metrics"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/openserf/serf/internal/testutil/cluster"
	"github.com/openserf/serf/internal/testutil/wait"
)

// scrape gets t's /metrics page and parses it with Prometheus' own text
// parser.
func scrape(tb testing.TB, tel *Telemetry) map[string]*dto.MetricFamily {
	tb.Helper()
	h := tel.Handler()
	if h == nil {
		tb.Fatal("Handler() = nil with Prometheus on")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		tb.Fatalf("GET /metrics = %d: %s", rec.Code, rec.Body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(rec.Body)
	if err != nil {
		tb.Fatalf("parse /metrics: %v", err)
	}
	return families
}

// value is the value of the family's series with the given labels
// (name, value pairs), and whether there is one.
func value(f *dto.MetricFamily, labels ...string) (float64, bool) {
	if f == nil {
		return 0, false
	}
series:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue series
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Summary != nil:
			return float64(m.Summary.GetSampleCount()), true
		}
	}
	return 0, false
}

// Metrics reported through go-metrics reach /metrics under the names
// Serf's dashboards know, without the service and host names statsd gets,
// beside the Go runtime and process collectors.
func TestPrometheusNames(t *testing.T) {
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	tel, err := StartTelemetry(TelemetryConfig{StatsdAddr: udp.LocalAddr().String(), Prometheus: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Stop()

	metrics.IncrCounter([]string{"serf", "member", "join"}, 1)
	metrics.IncrCounterWithLabels([]string{"serf", "events"}, 2, []metrics.Label{{Name: "dc", Value: "east"}})
	metrics.SetGauge([]string{"memberlist", "health", "score"}, 2)
	metrics.AddSample([]string{"serf", "queue", "Event"}, 3)

	f := scrape(t, tel)
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"serf_member_join", nil, 1},
		{"serf_events", []string{"dc", "east"}, 2},
		{"memberlist_health_score", nil, 2},
		{"serf_queue_Event", nil, 1},
	} {
		if got, ok := value(f[tc.name], tc.labels...); !ok || got != tc.want {
			t.Errorf("%s%v = %v (found %v), want %v", tc.name, tc.labels, got, ok, tc.want)
		}
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "promhttp_metric_handler_requests_total"} {
		if f[name] == nil {
			t.Errorf("no %s on /metrics", name)
		}
	}
	for name := range f {
		if len(name) > 11 && name[:11] == "serf_agent_" {
			t.Errorf("%s keeps the service name", name)
		}
	}
}

// Without Prometheus there is no handler and nothing to register into.
func TestPrometheusOff(t *testing.T) {
	tel, err := StartTelemetry(TelemetryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Stop()
	if tel.Handler() != nil {
		t.Error("Handler() != nil without Prometheus")
	}
	if err := tel.Register(newAgentCollector(nil)); err != nil {
		t.Errorf("Register() without Prometheus = %v", err)
	}
}

// The agent's collector reports the members by status and each handler's
// queue as they are when scraped.
func TestAgentCollector(t *testing.T) {
	tel, err := StartTelemetry(TelemetryConfig{Prometheus: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Stop()
	a, _ := startAgentWith(t, cluster.Config("prom"), Options{EventHandlers: []string{"user:deploy=true"}})
	if err := tel.Register(newAgentCollector(a)); err != nil {
		t.Fatal(err)
	}
	f := scrape(t, tel)
	for status, want := range map[string]float64{"alive": 1, "leaving": 0, "left": 0, "failed": 0} {
		if got, ok := value(f["serf_members"], "status", status); !ok || got != want {
			t.Errorf("serf_members{status=%q} = %v (found %v), want %v", status, got, ok, want)
		}
	}
	if got, ok := value(f["agent_event_handler_queue"], "event", "user:deploy", "script", "true"); !ok || got != 0 {
		t.Errorf("agent_event_handler_queue = %v (found %v), want 0", got, ok)
	}
}

// Samples are summaries of a count and a sum under go-metrics' names,
// labels kept, no quantiles; a series not updated for the retention
// time is dropped.
func TestPrometheusSamples(t *testing.T) {
	s := newSampleSummaries(200 * time.Millisecond)
	reg := prometheus.NewRegistry()
	if err := reg.Register(s); err != nil {
		t.Fatal(err)
	}
	s.add([]string{"memberlist", "gossip"}, 1.5, nil)
	s.add([]string{"memberlist", "gossip"}, 2.5, nil)
	s.add([]string{"agent", "invoke-x"}, 4, []metrics.Label{{Name: "dc", Value: "east"}})
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*dto.Summary{}
	for _, f := range families {
		if f.GetType() != dto.MetricType_SUMMARY {
			t.Errorf("%s is a %v, want a summary", f.GetName(), f.GetType())
		}
		for _, m := range f.GetMetric() {
			got[f.GetName()] = m.GetSummary()
			if len(m.GetSummary().GetQuantile()) != 0 {
				t.Errorf("%s has quantiles %v, want none", f.GetName(), m.GetSummary().GetQuantile())
			}
			if f.GetName() == "agent_invoke_x" && (len(m.GetLabel()) != 1 || m.GetLabel()[0].GetValue() != "east") {
				t.Errorf("agent_invoke_x labels = %v, want dc=east", m.GetLabel())
			}
		}
	}
	if g := got["memberlist_gossip"]; g.GetSampleCount() != 2 || g.GetSampleSum() != 4 {
		t.Errorf("memberlist_gossip = %v, want count 2, sum 4", g)
	}
	if g := got["agent_invoke_x"]; g.GetSampleCount() != 1 || g.GetSampleSum() != 4 {
		t.Errorf("agent_invoke_x = %v, want count 1, sum 4", g)
	}
	wait.For(t, 5*time.Second, func() error {
		families, err := reg.Gather()
		if err != nil {
			return err
		}
		if len(families) != 0 {
			return fmt.Errorf("%d families still there after the retention time", len(families))
		}
		return nil
	})
}
