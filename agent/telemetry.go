package agent

import (
	"fmt"
	"sync"
	"time"

	metrics "github.com/hashicorp/go-metrics"
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

	stopCh   chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// runtimeMetricsInterval is how often the runtime gauges (goroutines,
// heap, GC pauses) are collected. go-metrics' default, which Serf keeps,
// is every second; each collection stops the world to read the memory
// statistics, which is most of an idle agent's own work. The in-memory
// sink keeps one value per 10s interval anyway.
const runtimeMetricsInterval = 10 * time.Second

// StartTelemetry installs the sinks. Errors name the sink, as Serf's do.
func StartTelemetry(statsiteAddr, statsdAddr string) (*Telemetry, error) {
	t := &Telemetry{
		Inmem:  metrics.NewInmemSink(10*time.Second, time.Minute),
		stopCh: make(chan struct{}),
	}
	cfg := metrics.DefaultConfig("serf-agent")
	cfg.EnableHostname = false
	// go-metrics' own collector cannot be stopped; runtimeStats is.
	cfg.EnableRuntimeMetrics = false

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

	var m *metrics.Metrics
	var err error
	if len(t.sinks) > 0 {
		cfg.EnableHostname = true
		for _, s := range t.sinks {
			fanout = append(fanout, s)
		}
		fanout = append(fanout, t.Inmem)
		m, err = metrics.NewGlobal(cfg, fanout)
	} else {
		m, err = metrics.NewGlobal(cfg, t.Inmem)
	}
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
		cfg := metrics.DefaultConfig("serf-agent")
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

// ifOpen calls f with the sink unless it is closed; close waits for f to
// return.
func (c *closableSink) ifOpen(f func(metrics.MetricSink)) {
	c.lock.RLock()
	defer c.lock.RUnlock()
	if !c.closed {
		f(c.sink)
	}
}

// The MetricSink methods pass the metric on while the sink is open.

func (c *closableSink) SetGauge(key []string, val float32) {
	c.ifOpen(func(s metrics.MetricSink) { s.SetGauge(key, val) })
}

func (c *closableSink) SetGaugeWithLabels(key []string, val float32, labels []metrics.Label) {
	c.ifOpen(func(s metrics.MetricSink) { s.SetGaugeWithLabels(key, val, labels) })
}

func (c *closableSink) SetPrecisionGauge(key []string, val float64) {
	c.ifOpen(func(s metrics.MetricSink) {
		if p, ok := s.(metrics.PrecisionGaugeMetricSink); ok {
			p.SetPrecisionGauge(key, val)
		}
	})
}

func (c *closableSink) SetPrecisionGaugeWithLabels(key []string, val float64, labels []metrics.Label) {
	c.ifOpen(func(s metrics.MetricSink) {
		if p, ok := s.(metrics.PrecisionGaugeMetricSink); ok {
			p.SetPrecisionGaugeWithLabels(key, val, labels)
		}
	})
}

func (c *closableSink) EmitKey(key []string, val float32) {
	c.ifOpen(func(s metrics.MetricSink) { s.EmitKey(key, val) })
}

func (c *closableSink) IncrCounter(key []string, val float32) {
	c.ifOpen(func(s metrics.MetricSink) { s.IncrCounter(key, val) })
}

func (c *closableSink) IncrCounterWithLabels(key []string, val float32, labels []metrics.Label) {
	c.ifOpen(func(s metrics.MetricSink) { s.IncrCounterWithLabels(key, val, labels) })
}

func (c *closableSink) AddSample(key []string, val float32) {
	c.ifOpen(func(s metrics.MetricSink) { s.AddSample(key, val) })
}

func (c *closableSink) AddSampleWithLabels(key []string, val float32, labels []metrics.Label) {
	c.ifOpen(func(s metrics.MetricSink) { s.AddSampleWithLabels(key, val, labels) })
}
