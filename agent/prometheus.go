package agent

import (
	"net/http"
	"strings"
	"time"

	metrics "github.com/hashicorp/go-metrics"
	promsink "github.com/hashicorp/go-metrics/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// startPrometheus makes the registry /metrics serves and returns the sink
// to add to the global instance's fan-out. The sink gets each metric
// without the service name (and, for gauges, the host name) go-metrics
// puts in front, so that Prometheus sees serf_member_join and
// memberlist_gossip, the names dashboards know, not
// serf_agent_serf_member_join.
func (t *Telemetry) startPrometheus(retention time.Duration, cfg *metrics.Config) (metrics.MetricSink, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, err
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, err
	}
	gauges, err := promsink.NewPrometheusSinkFrom(promsink.PrometheusOpts{
		Name:       "serf_agent_sink",
		Expiration: retention,
		Registerer: reg,
	})
	if err != nil {
		return nil, err
	}
	samples := newSampleSummaries(retention)
	if err := reg.Register(samples); err != nil {
		return nil, err
	}
	sink := &promSink{PrometheusSink: gauges, samples: samples}
	t.registry = reg
	hostname := ""
	if cfg.EnableHostname {
		hostname = cfg.HostName
	}
	service := cfg.ServiceName
	return &forwardSink{sink: sink, rename: func(key []string, gauge bool) []string {
		if len(key) > 1 && key[0] == service {
			key = key[1:]
		}
		if gauge && hostname != "" && len(key) > 1 && key[0] == hostname {
			key = key[1:]
		}
		return key
	}}, nil
}

// Register adds a collector to what /metrics serves (the agent's own
// gauges, computed when scraped). Without Prometheus it does nothing.
func (t *Telemetry) Register(c prometheus.Collector) error {
	if t == nil || t.registry == nil {
		return nil
	}
	return t.registry.Register(c)
}

// Handler serves the metrics in Prometheus' text format (or its other
// formats, as the scraper asks), or nil without Prometheus. A collector
// that fails leaves out its metrics, not the whole page.
func (t *Telemetry) Handler() http.Handler {
	if t == nil || t.registry == nil {
		return nil
	}
	return promhttp.InstrumentMetricHandler(t.registry,
		promhttp.HandlerFor(t.registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
}

// agentCollector reports, when /metrics is scraped, what the agent knows
// at that moment rather than what it counted: the members by status and
// the length of each event handler's queue.
type agentCollector struct {
	a       *Agent
	members *prometheus.Desc
	queue   *prometheus.Desc
}

// memberStatuses are the statuses serf_members always reports, zero or
// not, so that a query for one of them finds a series.
var memberStatuses = []string{"alive", "leaving", "left", "failed"}

func newAgentCollector(a *Agent) *agentCollector {
	return &agentCollector{
		a: a,
		members: prometheus.NewDesc("serf_members",
			"Members of the cluster this agent knows, by status.", []string{"status"}, nil),
		queue: prometheus.NewDesc("agent_event_handler_queue",
			"Events waiting in an event handler's queue, the one being handled not counted.",
			[]string{"event", "script"}, nil),
	}
}

func (c *agentCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.members
	ch <- c.queue
}

func (c *agentCollector) Collect(ch chan<- prometheus.Metric) {
	if s := c.a.serf; s != nil {
		counts := map[string]int{}
		for _, m := range s.Members() {
			counts[m.Status.String()]++
		}
		for _, status := range memberStatuses {
			ch <- prometheus.MustNewConstMetric(c.members, prometheus.GaugeValue, float64(counts[status]), status)
		}
	}
	if r := c.a.scripts; r != nil {
		// A handler given twice is one series, its queues added up.
		type handlerKey struct{ filter, script string }
		var order []handlerKey
		lens := map[handlerKey]int{}
		for _, q := range r.Queues() {
			k := handlerKey{strings.TrimSuffix(q.Spec.Key(), ":"), q.Spec.Script}
			if _, seen := lens[k]; !seen {
				order = append(order, k)
			}
			lens[k] += q.Len
		}
		for _, k := range order {
			ch <- prometheus.MustNewConstMetric(c.queue, prometheus.GaugeValue, float64(lens[k]), k.filter, k.script)
		}
	}
}
