package agent

import (
	"fmt"
	"time"

	metrics "github.com/hashicorp/go-metrics"
)

// Telemetry is the agent's metrics setup: an in-memory sink (10s
// intervals kept for a minute, dumped to stderr on SIGUSR1) and, when
// configured, statsite and statsd sinks beside it. It installs the
// global go-metrics instance, which memberlist and the serf library
// report to.
type Telemetry struct {
	Inmem  *metrics.InmemSink
	signal *metrics.InmemSignal
}

// runtimeMetricsInterval is how often the runtime gauges (goroutines,
// heap, GC pauses) are collected. go-metrics' default, which Serf keeps,
// is every second; each collection stops the world to read the memory
// statistics, which is most of an idle agent's own work. The in-memory
// sink keeps one value per 10s interval anyway.
const runtimeMetricsInterval = 10 * time.Second

// StartTelemetry installs the sinks. Errors name the sink, as Serf's do.
func StartTelemetry(statsiteAddr, statsdAddr string) (*Telemetry, error) {
	inm := metrics.NewInmemSink(10*time.Second, time.Minute)
	cfg := metrics.DefaultConfig("serf-agent")
	cfg.EnableHostname = false
	cfg.ProfileInterval = runtimeMetricsInterval

	var fanout metrics.FanoutSink
	if statsiteAddr != "" {
		sink, err := metrics.NewStatsiteSink(statsiteAddr)
		if err != nil {
			return nil, fmt.Errorf("Failed to start statsite sink. Got: %s", err)
		}
		fanout = append(fanout, sink)
	}
	if statsdAddr != "" {
		sink, err := metrics.NewStatsdSink(statsdAddr)
		if err != nil {
			return nil, fmt.Errorf("Failed to start statsd sink. Got: %s", err)
		}
		fanout = append(fanout, sink)
	}

	var err error
	if len(fanout) > 0 {
		cfg.EnableHostname = true
		fanout = append(fanout, inm)
		_, err = metrics.NewGlobal(cfg, fanout)
	} else {
		_, err = metrics.NewGlobal(cfg, inm)
	}
	if err != nil {
		return nil, fmt.Errorf("Failed to start metrics: %s", err)
	}
	return &Telemetry{Inmem: inm, signal: metrics.DefaultInmemSignal(inm)}, nil
}

// Stop stops the SIGUSR1 handler and points the global instance at a
// sink that discards. The old sinks are not shut down: memberlist may
// still be reporting from goroutines that outlive its Shutdown, and
// go-metrics' statsd and statsite sinks panic when written to after
// their shutdown. They end with the process.
func (t *Telemetry) Stop() {
	t.signal.Stop()
	cfg := metrics.DefaultConfig("serf-agent")
	cfg.EnableRuntimeMetrics = false
	_, _ = metrics.NewGlobal(cfg, &metrics.BlackholeSink{})
}
