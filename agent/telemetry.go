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
	sinks  []*closableSink // statsite and statsd

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
		t.sinks = append(t.sinks, &closableSink{sink: sink})
	}
	if statsdAddr != "" {
		sink, err := metrics.NewStatsdSink(statsdAddr)
		if err != nil {
			t.closeSinks()
			return nil, fmt.Errorf("Failed to start statsd sink. Got: %w", err)
		}
		t.sinks = append(t.sinks, &closableSink{sink: sink})
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

// closableSink passes metrics on to a statsite or statsd sink until
// close, and drops them after: go-metrics' network sinks panic when
// written to after their Shutdown, and a goroutine may still hold the
// old global instance when Stop replaces it.
type closableSink struct {
	lock   sync.RWMutex
	closed bool // guarded by lock
	sink   metrics.MetricSink
}

// close shuts the sink down, which ends its sending goroutine.
func (c *closableSink) close() {
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

// The MetricSink methods pass the metric on while the sink is open.

func (c *closableSink) SetGauge(key []string, val float32) {
	c.lock.RLock()
	defer c.lock.RUnlock()
	if !c.closed {
		c.sink.SetGauge(key, val)
	}
}

func (c *closableSink) SetGaugeWithLabels(key []string, val float32, labels []metrics.Label) {
	c.lock.RLock()
	defer c.lock.RUnlock()
	if !c.closed {
		c.sink.SetGaugeWithLabels(key, val, labels)
	}
}

func (c *closableSink) SetPrecisionGauge(key []string, val float64) {
	c.lock.RLock()
	defer c.lock.RUnlock()
	if p, ok := c.sink.(metrics.PrecisionGaugeMetricSink); ok && !c.closed {
		p.SetPrecisionGauge(key, val)
	}
}

func (c *closableSink) SetPrecisionGaugeWithLabels(key []string, val float64, labels []metrics.Label) {
	c.lock.RLock()
	defer c.lock.RUnlock()
	if p, ok := c.sink.(metrics.PrecisionGaugeMetricSink); ok && !c.closed {
		p.SetPrecisionGaugeWithLabels(key, val, labels)
	}
}

func (c *closableSink) EmitKey(key []string, val float32) {
	c.lock.RLock()
	defer c.lock.RUnlock()
	if !c.closed {
		c.sink.EmitKey(key, val)
	}
}

func (c *closableSink) IncrCounter(key []string, val float32) {
	c.lock.RLock()
	defer c.lock.RUnlock()
	if !c.closed {
		c.sink.IncrCounter(key, val)
	}
}

func (c *closableSink) IncrCounterWithLabels(key []string, val float32, labels []metrics.Label) {
	c.lock.RLock()
	defer c.lock.RUnlock()
	if !c.closed {
		c.sink.IncrCounterWithLabels(key, val, labels)
	}
}

func (c *closableSink) AddSample(key []string, val float32) {
	c.lock.RLock()
	defer c.lock.RUnlock()
	if !c.closed {
		c.sink.AddSample(key, val)
	}
}

func (c *closableSink) AddSampleWithLabels(key []string, val float32, labels []metrics.Label) {
	c.lock.RLock()
	defer c.lock.RUnlock()
	if !c.closed {
		c.sink.AddSampleWithLabels(key, val, labels)
	}
}
