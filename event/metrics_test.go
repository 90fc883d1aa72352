//go:build unix

package event

import (
	"testing"

	metrics "github.com/hashicorp/go-metrics"
	"github.com/openserf/serf/internal/testutil/metricsink"
)

// The Runner's metrics go to its Metrics, with its labels, under the
// names Serf's agent uses.
func TestRunnerMetricsCarryLabels(t *testing.T) {
	m, inm := metricsink.New(t)
	r, _ := startRunner(t, RunnerConfig{
		Specs:        specs(t, "user=true"),
		Metrics:      m,
		MetricLabels: []metrics.Label{{Name: "dc", Value: "east"}},
	})
	r.Handle(userEvent("deploy", 1, ""))
	metricsink.WaitSample(t, waitTimeout, inm, "test.agent.invoke.true;dc=east")
}
