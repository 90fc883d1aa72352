package agent

import (
	"strings"
	"sync"
	"time"

	metrics "github.com/hashicorp/go-metrics"
	promsink "github.com/hashicorp/go-metrics/prometheus"
	"github.com/prometheus/client_golang/prometheus"
)

// promSink is go-metrics' Prometheus sink, but for samples (timings and
// sizes), which it keeps as summaries of a count and a sum only.
// go-metrics' own summaries keep quantile streams, about 170 KB each once
// busy: with them, turning the HTTP listener on would cost an idle agent
// a tenth of its memory. A count and a sum give the mean over any window
// (rate(x_sum) / rate(x_count)) and, unlike quantiles, add up across
// agents.
type promSink struct {
	*promsink.PrometheusSink
	samples *sampleSummaries
}

func (p *promSink) AddSample(key []string, val float32) {
	p.samples.add(key, val, nil)
}

func (p *promSink) AddSampleWithLabels(key []string, val float32, labels []metrics.Label) {
	p.samples.add(key, val, labels)
}

// promNames spells a metric's parts as go-metrics' sink does:
// "memberlist.gossip" is memberlist_gossip.
var promNames = strings.NewReplacer(" ", "_", ".", "_", "=", "_", "-", "_", "/", "_")

// sampleSummaries is the Prometheus collector of promSink's samples. A
// series not updated for expiration (when not zero) is dropped, as
// go-metrics' sink drops its own.
type sampleSummaries struct {
	expiration time.Duration

	lock   sync.Mutex
	series map[string]*sampleSeries // by name and labels; guarded by lock
}

// sampleSeries is one summary: its description, its label values, and
// what it has counted.
type sampleSeries struct {
	desc    *prometheus.Desc
	values  []string
	count   uint64
	sum     float64
	updated time.Time
}

func newSampleSummaries(expiration time.Duration) *sampleSummaries {
	return &sampleSummaries{expiration: expiration, series: map[string]*sampleSeries{}}
}

func (s *sampleSummaries) add(key []string, val float32, labels []metrics.Label) {
	name := promNames.Replace(strings.Join(key, "_"))
	id := name
	for _, l := range labels {
		id += ";" + l.Name + "=" + l.Value
	}
	s.lock.Lock()
	defer s.lock.Unlock()
	se, ok := s.series[id]
	if !ok {
		names := make([]string, 0, len(labels))
		values := make([]string, 0, len(labels))
		for _, l := range labels {
			names = append(names, promNames.Replace(l.Name))
			values = append(values, l.Value)
		}
		se = &sampleSeries{desc: prometheus.NewDesc(name, name, names, nil), values: values}
		s.series[id] = se
	}
	se.count++
	se.sum += float64(val)
	se.updated = time.Now()
}

// Describe sends nothing: the series come and go with what is reported,
// so the registry takes the collector unchecked.
func (s *sampleSummaries) Describe(chan<- *prometheus.Desc) {}

func (s *sampleSummaries) Collect(ch chan<- prometheus.Metric) {
	s.lock.Lock()
	defer s.lock.Unlock()
	for id, se := range s.series {
		if s.expiration > 0 && time.Since(se.updated) > s.expiration {
			delete(s.series, id)
			continue
		}
		m, err := prometheus.NewConstSummary(se.desc, se.count, se.sum, nil, se.values...)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(se.desc, err)
			continue
		}
		ch <- m
	}
}
