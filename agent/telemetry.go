package agent

import (
	"fmt"
	"sync"
	"time"

	metrics "github.com/hashicorp/go-metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// Telemetry is the agent's metrics setup: an in-memory sink (10s
// intervals kept for a minute, dumped to stderr on SIGUSR1) and, when
// configured, statsite and statsd sinks beside it. It installs the
// global go-metrics instance, which memberlist and the serf library
// report to, and collects the runtime gauges itself.
type Telemetry struct {
	Inmem  *metrics.InmemSink
	signal *metrics.InmemSignal
	sinks  []*forwardSink // statsite and statsd

	// registry holds what /metrics serves: the Prometheus sink, the Go
	// runtime and process collectors, and the agent's own collectors.
	// Nil without Prometheus.
	registry *prometheus.Registry

	stopCh   chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// metricsService is the name go-metrics puts in front of every metric the
// agent, Serf and memberlist report, as Serf's agent does
// ("serf-agent.serf.member.join" for statsd).
const metricsService = "serf-agent"

// runtimeMetricsInterval is how often the runtime gauges (goroutines,
// heap, GC pauses) are collected. go-metrics' default, which Serf keeps,
// is every second; each collection stops the world to read the memory
// statistics, which is most of an idle agent's own work. The in-memory
// sink keeps one value per 10s interval anyway.
const runtimeMetricsInterval = 10 * time.Second

// TelemetryConfig says which sinks StartTelemetry installs beside the
// in-memory one.
type TelemetryConfig struct {
	StatsiteAddr string // "host:port", or "" for none
	StatsdAddr   string // "host:port", or "" for none

	// Prometheus keeps the metrics for Prometheus too (Handler serves
	// them); PrometheusRetention is how long a series that is no longer
	// reported stays, 0 for ever.
	Prometheus          bool
	PrometheusRetention time.Duration
}

// StartTelemetry installs the sinks. Errors name the sink, as Serf's do.
func StartTelemetry(conf TelemetryConfig) (*Telemetry, error) {
	t := &Telemetry{
		Inmem:  metrics.NewInmemSink(10*time.Second, time.Minute),
		stopCh: make(chan struct{}),
	}
	cfg := metrics.DefaultConfig(metricsService)
	cfg.EnableHostname = false
	// go-metrics' own collector cannot be stopped; runtimeStats is.
	cfg.EnableRuntimeMetrics = false
	statsiteAddr, statsdAddr := conf.StatsiteAddr, conf.StatsdAddr

	var fanout metrics.FanoutSink
	if statsiteAddr != "" {
		sink, err := metrics.NewStatsiteSink(statsiteAddr)
		if err != nil {
			return nil, fmt.Errorf("Failed to start statsite sink. Got: %w", err)
		}
		t.sinks = append(t.sinks, &forwardSink{sink: sink})
	}
	if statsdAddr != "" {
		sink, err := metrics.NewStatsdSink(statsdAddr)
		if err != nil {
			t.closeSinks()
			return nil, fmt.Errorf("Failed to start statsd sink. Got: %w", err)
		}
		t.sinks = append(t.sinks, &forwardSink{sink: sink})
	}

	if len(t.sinks) > 0 {
		// Statsite and statsd names carry the host, as Serf's do.
		cfg.EnableHostname = true
	}
	for _, s := range t.sinks {
		fanout = append(fanout, s)
	}
	fanout = append(fanout, t.Inmem)
	if conf.Prometheus {
		sink, err := t.startPrometheus(conf.PrometheusRetention, cfg)
		if err != nil {
			t.closeSinks()
			return nil, fmt.Errorf("Failed to start the Prometheus sink: %w", err)
		}
		fanout = append(fanout, sink)
	}
	m, err := metrics.NewGlobal(cfg, fanout)
	if err != nil {
		t.closeSinks()
		return nil, fmt.Errorf("Failed to start metrics: %w", err)
	}
	t.signal = metrics.DefaultInmemSignal(t.Inmem)
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		t.runtimeStats(m)
	}()
	return t, nil
}

// runtimeStats reports the runtime gauges every runtimeMetricsInterval
// until Stop.
func (t *Telemetry) runtimeStats(m *metrics.Metrics) {
	tick := time.NewTicker(runtimeMetricsInterval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			m.EmitRuntimeStats()
		case <-t.stopCh:
			return
		}
	}
}

// Stop stops the SIGUSR1 handler and the runtime gauges, points the
// global instance at a sink that discards, and shuts the statsite and
// statsd sinks down. Metrics reported after Stop (memberlist may still
// report from goroutines that end after its Shutdown) are dropped. Stop
// is idempotent.
func (t *Telemetry) Stop() {
	t.stopOnce.Do(func() {
		t.signal.Stop()
		close(t.stopCh)
		t.wg.Wait()
		cfg := metrics.DefaultConfig(metricsService)
		cfg.EnableRuntimeMetrics = false
		_, _ = metrics.NewGlobal(cfg, &metrics.BlackholeSink{})
		t.closeSinks()
	})
}

func (t *Telemetry) closeSinks() {
	for _, s := range t.sinks {
		s.close()
	}
}

// forwardSink passes metrics on to sink, under the name rename gives
// them when it is set, until close; after close it drops them. The gate is
// for the statsite and statsd sinks: go-metrics' network sinks panic when
// written to after their Shutdown, and a goroutine may still hold the old
// global instance when Stop replaces it. The renaming is for Prometheus
// (see startPrometheus).
type forwardSink struct {
	sink   metrics.MetricSink
	rename func(key []string, gauge bool) []string // nil keeps the name

	lock   sync.RWMutex
	closed bool // guarded by lock
}

// close shuts the sink down, which ends a network sink's sending
// goroutine.
func (c *forwardSink) close() {
	c.lock.Lock()
	defer c.lock.Unlock()
	if c.closed {
		return
	}
	c.closed = true
	if s, ok := c.sink.(metrics.ShutdownSink); ok {
		s.Shutdown()
	}
}

// do runs f with the name to pass the metric on under, if the sink is
// still open.
func (c *forwardSink) do(key []string, gauge bool, f func(key []string)) {
	c.lock.RLock()
	defer c.lock.RUnlock()
	if c.closed {
		return
	}
	if c.rename != nil {
		key = c.rename(key, gauge)
	}
	f(key)
}

// The MetricSink methods pass the metric on while the sink is open.

func (c *forwardSink) SetGauge(key []string, val float32) {
	c.do(key, true, func(k []string) { c.sink.SetGauge(k, val) })
}

func (c *forwardSink) SetGaugeWithLabels(key []string, val float32, labels []metrics.Label) {
	c.do(key, true, func(k []string) { c.sink.SetGaugeWithLabels(k, val, labels) })
}

func (c *forwardSink) SetPrecisionGauge(key []string, val float64) {
	if p, ok := c.sink.(metrics.PrecisionGaugeMetricSink); ok {
		c.do(key, true, func(k []string) { p.SetPrecisionGauge(k, val) })
	}
}

func (c *forwardSink) SetPrecisionGaugeWithLabels(key []string, val float64, labels []metrics.Label) {
	if p, ok := c.sink.(metrics.PrecisionGaugeMetricSink); ok {
		c.do(key, true, func(k []string) { p.SetPrecisionGaugeWithLabels(k, val, labels) })
	}
}

func (c *forwardSink) EmitKey(key []string, val float32) {
	c.do(key, false, func(k []string) { c.sink.EmitKey(k, val) })
}

func (c *forwardSink) IncrCounter(key []string, val float32) {
	c.do(key, false, func(k []string) { c.sink.IncrCounter(k, val) })
}

func (c *forwardSink) IncrCounterWithLabels(key []string, val float32, labels []metrics.Label) {
	c.do(key, false, func(k []string) { c.sink.IncrCounterWithLabels(k, val, labels) })
}

func (c *forwardSink) AddSample(key []string, val float32) {
	c.do(key, false, func(k []string) { c.sink.AddSample(k, val) })
}

func (c *forwardSink) AddSampleWithLabels(key []string, val float32, labels []metrics.Label) {
	c.do(key, false, func(k []string) { c.sink.AddSampleWithLabels(k, val, labels) })
}
