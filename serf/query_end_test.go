package serf_test

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/cluster"
	"github.com/openserf/serf/serf"
)

// With EndWhenAnswered a query closes before its deadline once every
// member its filters select has acked and responded, with the same
// answers a full wait collects.
func TestQueryEndsWhenAnswered(t *testing.T) {
	nodes := queryCluster(t, "qe", 4)
	src := nodes[2].Serf

	tests := []struct {
		name   string
		params serf.QueryParam
		want   []string
	}{
		{"all", serf.QueryParam{}, []string{"qe0", "qe1", "qe2", "qe3"}},
		{"nodes", serf.QueryParam{FilterNodes: []string{"qe0", "qe3", "gone"}}, []string{"qe0", "qe3"}},
		{"tag", serf.QueryParam{FilterTags: map[string]string{"role": "^db$"}}, []string{"qe1", "qe3"}},
		{"relay", serf.QueryParam{RelayFactor: 2}, []string{"qe0", "qe1", "qe2", "qe3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			full := tc.params
			full.RequestAck, full.Timeout = true, time.Second
			r, err := src.Query("hello", []byte("x"), &full)
			if err != nil {
				t.Fatalf("Query() error: %v", err)
			}
			fullAcks, fullResponses := collect(t, r)

			early := full
			early.EndWhenAnswered, early.Timeout = true, time.Minute
			r, err = src.Query("hello", []byte("x"), &early)
			if err != nil {
				t.Fatalf("Query() error: %v", err)
			}
			acks, responses := collect(t, r)
			if !time.Now().Before(r.Deadline()) {
				t.Errorf("query collected until its deadline %v, want an early end", r.Deadline())
			}
			if !r.Finished() {
				t.Errorf("Finished() = false after the early end")
			}
			if !slices.Equal(acks, tc.want) || !slices.Equal(fullAcks, tc.want) {
				t.Errorf("acks = %v, full wait's %v, want %v", acks, fullAcks, tc.want)
			}
			if !maps.Equal(responses, fullResponses) || len(responses) != len(tc.want) {
				t.Errorf("responses = %v, full wait's %v, want one from each of %v", responses, fullResponses, tc.want)
			}
		})
	}
}

// A member that acks but never responds keeps the query open to its
// deadline, as does a query without acks.
func TestQueryEndWaitsForEveryResponse(t *testing.T) {
	nodes := queryCluster(t, "qw", 2)
	silent := cluster.Start(t, cluster.Config("qw-silent"))
	if _, err := silent.Serf.Join([]string{nodes[0].Addr()}, false); err != nil {
		t.Fatalf("Join() error: %v", err)
	}
	cluster.WaitStatus(t, timeout, append(nodes, silent), silent.Name, serf.StatusAlive)

	params := []serf.QueryParam{
		{RequestAck: true, EndWhenAnswered: true, Timeout: 700 * time.Millisecond},
		{EndWhenAnswered: true, Timeout: 700 * time.Millisecond},
	}
	for _, p := range params {
		r, err := nodes[0].Serf.Query("hello", []byte("y"), &p)
		if err != nil {
			t.Fatalf("Query() error: %v", err)
		}
		acks, responses := collect(t, r)
		if now := time.Now(); now.Before(r.Deadline()) {
			t.Errorf("RequestAck=%v: query ended %v before its deadline, want a full wait", p.RequestAck, r.Deadline().Sub(now))
		}
		wantAcks := []string{"qw-silent", "qw0", "qw1"}
		if !p.RequestAck {
			wantAcks = nil
		}
		if !slices.Equal(acks, wantAcks) {
			t.Errorf("RequestAck=%v: acks = %v, want %v", p.RequestAck, acks, wantAcks)
		}
		want := map[string]string{"qw0": "qw0:y", "qw1": "qw1:y"}
		if !maps.Equal(responses, want) {
			t.Errorf("RequestAck=%v: responses = %v, want %v", p.RequestAck, responses, want)
		}
	}
}

// Filters that select no member the sender knows end the query at once.
func TestQueryEndsAtOnceWhenNobodySelected(t *testing.T) {
	nodes := queryCluster(t, "qn", 2)
	params := []serf.QueryParam{
		{FilterNodes: []string{"elsewhere"}},
		{FilterTags: map[string]string{"role": "^cache$"}},
		{FilterTags: map[string]string{"role": "("}}, // selects nobody, there as here
	}
	for _, p := range params {
		p.RequestAck, p.EndWhenAnswered, p.Timeout = true, true, time.Minute
		r, err := nodes[1].Serf.Query("hello", nil, &p)
		if err != nil {
			t.Fatalf("Query(%+v) error: %v", p, err)
		}
		if !r.Finished() {
			t.Errorf("Query(%+v): Finished() = false, want an immediate end", p)
		}
		if acks, responses := collect(t, r); len(acks) != 0 || len(responses) != 0 {
			t.Errorf("Query(%+v): acks = %v, responses = %v, want none", p, acks, responses)
		}
	}
}
