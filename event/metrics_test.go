//go:build unix

package event

import (
	"fmt"
	"testing"
	"time"

	metrics "github.com/hashicorp/go-metrics"
	"github.com/openserf/serf/internal/testutil/wait"
)

// The Runner's metrics go to its Metrics, with its labels, under the
// names Serf's agent uses.
func TestRunnerMetricsCarryLabels(t *testing.T) {
	inm := metrics.NewInmemSink(time.Minute, time.Minute)
	cfg := metrics.DefaultConfig("test")
	cfg.EnableHostname, cfg.EnableRuntimeMetrics = false, false
	m, err := metrics.New(cfg, inm)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := startRunner(t, RunnerConfig{
		Specs:        specs(t, "user=true"),
		Metrics:      m,
		MetricLabels: []metrics.Label{{Name: "dc", Value: "east"}},
	})
	r.Handle(userEvent("deploy", 1, ""))
	const key = "test.agent.invoke.true;dc=east"
	wait.For(t, waitTimeout, func() error {
		for _, intv := range inm.Data() {
			intv.RLock()
			_, ok := intv.Samples[key]
			intv.RUnlock()
			if ok {
				return nil
			}
		}
		return fmt.Errorf("no sample %s", key)
	})
}
