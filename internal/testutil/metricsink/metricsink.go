// Package metricsink gives tests a go-metrics instance that records in
// memory, and waits for what it records.
package metricsink

import (
	"fmt"
	"testing"
	"time"

	metrics "github.com/hashicorp/go-metrics"
	"github.com/openserf/serf/internal/testutil/wait"
)

// New returns a metrics instance for a test to hand to the code under
// test, and the in-memory sink it records to. Its service name is "test"
// and it adds no hostname and no runtime gauges, so a key reads
// "test.<name>;<label>=<value>".
func New(tb testing.TB) (*metrics.Metrics, *metrics.InmemSink) {
	tb.Helper()
	sink := metrics.NewInmemSink(time.Minute, time.Minute)
	cfg := metrics.DefaultConfig("test")
	cfg.EnableHostname, cfg.EnableRuntimeMetrics = false, false
	m, err := metrics.New(cfg, sink)
	if err != nil {
		tb.Fatalf("metrics.New() error: %v", err)
	}
	return m, sink
}

// WaitCounter waits until sink holds a counter named key.
func WaitCounter(tb testing.TB, timeout time.Duration, sink *metrics.InmemSink, key string) {
	tb.Helper()
	waitFor(tb, timeout, sink, "counter", key, func(iv *metrics.IntervalMetrics) bool {
		_, ok := iv.Counters[key]
		return ok
	})
}

// WaitSample waits until sink holds a sample named key.
func WaitSample(tb testing.TB, timeout time.Duration, sink *metrics.InmemSink, key string) {
	tb.Helper()
	waitFor(tb, timeout, sink, "sample", key, func(iv *metrics.IntervalMetrics) bool {
		_, ok := iv.Samples[key]
		return ok
	})
}

// waitFor waits until has holds for one of sink's intervals, read under
// the interval's lock.
func waitFor(tb testing.TB, timeout time.Duration, sink *metrics.InmemSink, kind, key string, has func(*metrics.IntervalMetrics) bool) {
	tb.Helper()
	wait.For(tb, timeout, func() error {
		for _, iv := range sink.Data() {
			iv.RLock()
			ok := has(iv)
			iv.RUnlock()
			if ok {
				return nil
			}
		}
		return fmt.Errorf("no %s %s", kind, key)
	})
}
