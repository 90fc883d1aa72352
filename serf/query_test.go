package serf_test

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/openserf/serf/internal/testutil/cluster"
	"github.com/openserf/serf/internal/testutil/wait"
	"github.com/openserf/serf/serf"
)

// answerQueries makes a node answer every query it receives with
// "<node>:<payload>", from a goroutine stopped at test cleanup.
func answerQueries(t *testing.T, n *cluster.Node, ch <-chan serf.Event) {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case e := <-ch:
				if q, ok := e.(*serf.Query); ok {
					_ = q.Respond([]byte(n.Name + ":" + string(q.Payload)))
				}
			case <-stop:
				return
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
}

// queryCluster starts n nodes that answer queries, tagged role=web on even
// and role=db on odd indexes.
func queryCluster(t *testing.T, prefix string, n int) []*cluster.Node {
	var nodes []*cluster.Node
	for i := 0; i < n; i++ {
		cfg := cluster.Config(fmt.Sprintf("%s%d", prefix, i))
		cfg.Tags = map[string]string{"role": []string{"web", "db"}[i%2]}
		ch := make(chan serf.Event, 64)
		cfg.EventCh = ch
		node := cluster.Start(t, cfg)
		answerQueries(t, node, ch)
		if i > 0 {
			if _, err := node.Serf.Join([]string{nodes[0].Addr()}, false); err != nil {
				t.Fatalf("Join() error: %v", err)
			}
		}
		nodes = append(nodes, node)
	}
	for _, node := range nodes {
		cluster.WaitStatus(t, timeout, nodes, node.Name, serf.StatusAlive)
	}
	return nodes
}

// collect reads a query's acks and responses until they are closed, a
// minute at the most.
func collect(t *testing.T, r *serf.QueryResponse) (acks []string, responses map[string]string) {
	t.Helper()
	responses = map[string]string{}
	wait.Drain(t, time.Minute, "query acks and responses", r.AckCh(), r.ResponseCh(),
		func(a string) { acks = append(acks, a) },
		func(nr serf.NodeResponse) { responses[nr.From] = string(nr.Payload) })
	sort.Strings(acks)
	return acks, responses
}

func TestQueryFiltersAcksAndResponses(t *testing.T) {
	nodes := queryCluster(t, "q", 5)
	src := nodes[0].Serf

	tests := []struct {
		name   string
		params serf.QueryParam
		want   []string
	}{
		{"all", serf.QueryParam{RequestAck: true}, []string{"q0", "q1", "q2", "q3", "q4"}},
		{"nodes", serf.QueryParam{RequestAck: true, FilterNodes: []string{"q1", "q4"}}, []string{"q1", "q4"}},
		{"tag", serf.QueryParam{RequestAck: true, FilterTags: map[string]string{"role": "db"}}, []string{"q1", "q3"}},
		// Tag filters are unanchored regular expressions.
		{"tag regexp", serf.QueryParam{RequestAck: true, FilterTags: map[string]string{"role": "^w"}}, []string{"q0", "q2", "q4"}},
		{"missing tag matches empty", serf.QueryParam{RequestAck: true, FilterTags: map[string]string{"dc": "^$"}}, []string{"q0", "q1", "q2", "q3", "q4"}},
		{"both", serf.QueryParam{RequestAck: true, FilterNodes: []string{"q1", "q2"}, FilterTags: map[string]string{"role": "db"}}, []string{"q1"}},
		{"relay", serf.QueryParam{RequestAck: true, RelayFactor: 2}, []string{"q0", "q1", "q2", "q3", "q4"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.params
			p.Timeout = 3 * time.Second
			r, err := src.Query("hello", []byte("x"), &p)
			if err != nil {
				t.Fatalf("Query() error: %v", err)
			}
			acks, responses := collect(t, r)
			if strings.Join(acks, ",") != strings.Join(tc.want, ",") {
				t.Errorf("acks = %v, want %v", acks, tc.want)
			}
			var from []string
			for name, payload := range responses {
				from = append(from, name)
				if payload != name+":x" {
					t.Errorf("response from %s = %q, want %q", name, payload, name+":x")
				}
			}
			sort.Strings(from)
			if strings.Join(from, ",") != strings.Join(tc.want, ",") {
				t.Errorf("responses from %v, want %v", from, tc.want)
			}
		})
	}
}

func TestQueryWithoutAckAndTimeout(t *testing.T) {
	nodes := queryCluster(t, "qt", 3)
	start := time.Now()
	r, err := nodes[1].Serf.Query("noack", nil, &serf.QueryParam{Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatalf("Query() error: %v", err)
	}
	if r.AckCh() != nil {
		t.Errorf("AckCh() = non-nil without RequestAck")
	}
	_, responses := collect(t, r)
	if took := time.Since(start); took < 500*time.Millisecond {
		t.Errorf("responses closed after %v, before the 500ms timeout", took)
	}
	if len(responses) != 3 {
		t.Errorf("got %d responses, want 3", len(responses))
	}
	if !r.Finished() {
		t.Errorf("Finished() = false after the deadline")
	}

	// The default timeout scales with the cluster size.
	want := 20 * time.Millisecond * 100 // gossip interval x mult x ceil(log10(3+1))
	if got := nodes[0].Serf.DefaultQueryTimeout(); got != want {
		t.Errorf("DefaultQueryTimeout() = %v, want %v", got, want)
	}
}

func TestQueryLimitsAndResponseErrors(t *testing.T) {
	cfg := cluster.Config("ql")
	ch := make(chan serf.Event, 8)
	cfg.EventCh = ch
	n := cluster.Start(t, cfg)

	if _, err := n.Serf.Query("big", make([]byte, 1100), nil); err == nil || err.Error() != "query exceeds limit of 1024 bytes" {
		t.Errorf("Query(1100 bytes) error = %v", err)
	}

	r, err := n.Serf.Query("self", []byte("p"), &serf.QueryParam{Timeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("Query() error: %v", err)
	}
	var q *serf.Query
	for q == nil {
		if e, ok := (<-ch).(*serf.Query); ok {
			q = e
		}
	}
	if q.Name != "self" || string(q.Payload) != "p" || q.SourceNode() != "ql" {
		t.Errorf("delivered query = %+v from %s", q, q.SourceNode())
	}
	if err := q.Respond(make([]byte, 1100)); err == nil || err.Error() != "failed to respond to key query: response exceeds limit of 1024 bytes" {
		t.Errorf("Respond(1100 bytes) error = %v", err)
	}
	if err := q.Respond([]byte("ok")); err != nil {
		t.Errorf("Respond() error: %v", err)
	}
	if err := q.Respond([]byte("again")); err == nil || err.Error() != "failed to respond to key query: response already sent" {
		t.Errorf("second Respond() error = %v", err)
	}
	_, responses := collect(t, r)
	if responses["ql"] != "ok" || len(responses) != 1 {
		t.Errorf("responses = %v, want ql:ok", responses)
	}

	cfg2 := cluster.Config("old")
	cfg2.ProtocolVersion = 3
	old := cluster.Start(t, cfg2)
	if _, err := old.Serf.Query("x", nil, nil); err != serf.FeatureNotSupported {
		t.Errorf("Query() at protocol 3 error = %v, want Feature not supported", err)
	}
}

func TestInternalQueriesNotDelivered(t *testing.T) {
	c := cluster.New(t, "iq", 3, nil)
	c.WaitConverged(t, timeout)
	r, err := c.Nodes[0].Serf.Query("_serf_ping", nil, &serf.QueryParam{RequestAck: true, Timeout: time.Second})
	if err != nil {
		t.Fatalf("Query(_serf_ping) error: %v", err)
	}
	acks, _ := collect(t, r)
	if len(acks) != 3 {
		t.Errorf("_serf_ping acks = %v, want all 3 nodes", acks)
	}
	for _, n := range c.Nodes {
		for _, e := range n.Events() {
			if q, ok := e.(*serf.Query); ok {
				t.Errorf("%s got internal query %q on its event channel", n.Name, q.Name)
			}
		}
	}
}

func TestNameConflictResolution(t *testing.T) {
	c := cluster.New(t, "nc", 3, nil)
	c.WaitConverged(t, timeout)

	// A second node claims nc1's name and joins: the cluster knows nc1 at
	// the old address, so the newcomer loses the vote and shuts down.
	cfg := cluster.Config("nc1")
	intruder := cluster.Start(t, cfg)
	_, _ = intruder.Serf.Join([]string{c.Nodes[0].Addr()}, false)

	wait.For(t, timeout, func() error {
		if intruder.Serf.State() != serf.SerfShutdown {
			return fmt.Errorf("intruder state = %v, want shutdown", intruder.Serf.State())
		}
		return nil
	})
	if logs := intruder.Logs.String(); !strings.Contains(logs, "[WARN] serf: minority in name conflict resolution, quiting [") {
		t.Errorf("intruder log lacks the minority line:\n%s", logs)
	}
	if c.Nodes[1].Serf.State() != serf.SerfAlive {
		t.Errorf("original nc1 state = %v, want alive", c.Nodes[1].Serf.State())
	}
}

// With a relay factor, every ack and response is also forwarded by other
// members; the source still counts each node once.
func TestQueryRelayFactor(t *testing.T) {
	nodes := queryCluster(t, "qr", 4)
	r, err := nodes[0].Serf.Query("relayed", nil, &serf.QueryParam{RequestAck: true, RelayFactor: 2, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("Query() error: %v", err)
	}
	acks, responses := collect(t, r)
	if len(acks) != 4 || len(responses) != 4 {
		t.Errorf("acks %v, responses %v, want 4 each, without duplicates", acks, responses)
	}
	relayed := 0
	for _, n := range nodes {
		relayed += strings.Count(n.Logs.String(), "[DEBUG] serf: Relaying response to addr: ")
	}
	// Four nodes each send an ack and a response through two relays.
	if relayed < 8 {
		t.Errorf("%d relayed messages logged, want at least 8", relayed)
	}
}

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

// With its queries kept out of gossip, a node's acked queries still reach
// every member its filters select, by redelivery, and nobody else.
func TestQueryRedeliveryReachesEveryMember(t *testing.T) {
	nodes := queryCluster(t, "rd", 4)
	sender := nodes[0]
	sender.Serf.SkipQueryGossip()

	r, err := sender.Serf.Query("hello", []byte("x"), &serf.QueryParam{RequestAck: true, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	acks, responses := collect(t, r)
	want := []string{"rd0", "rd1", "rd2", "rd3"}
	if !slices.Equal(acks, want) {
		t.Errorf("acks = %v, want %v", acks, want)
	}
	for _, name := range want {
		if responses[name] != name+":x" {
			t.Errorf("%s answered %q, want %q", name, responses[name], name+":x")
		}
	}

	// Only the members the tag filter selects (odd ones are role=db).
	r, err = sender.Serf.Query("hello", []byte("y"), &serf.QueryParam{
		RequestAck: true, Timeout: 2 * time.Second, FilterTags: map[string]string{"role": "^db$"},
	})
	if err != nil {
		t.Fatal(err)
	}
	acks, responses = collect(t, r)
	if want := []string{"rd1", "rd3"}; !slices.Equal(acks, want) || len(responses) != 2 {
		t.Errorf("filtered: acks = %v, responses = %v, want acks %v", acks, responses, want)
	}

	// Without acks there is no receipt to go by: the query stays local.
	r, err = sender.Serf.Query("hello", []byte("z"), &serf.QueryParam{Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	acks, responses = collect(t, r)
	if len(acks) != 0 || len(responses) != 1 || responses["rd0"] != "rd0:z" {
		t.Errorf("no-ack query: acks = %v, responses = %v, want only rd0's own answer", acks, responses)
	}
}

// Key queries, which every member answers, are redelivered to the members
// that have not answered.
func TestKeyQueryRedelivery(t *testing.T) {
	c := cluster.New(t, "kr", 4, func(cfg *serf.Config) {
		ring, err := memberlist.NewKeyring(nil, key(7))
		if err != nil {
			t.Fatal(err)
		}
		cfg.MemberlistConfig.Keyring = ring
	})
	c.WaitConverged(t, timeout)
	sender := c.Nodes[1].Serf
	sender.SkipQueryGossip()

	resp, err := sender.KeyManager().InstallKey(b64(key(8)))
	if err != nil {
		t.Fatalf("InstallKey() error: %v (%+v)", err, resp)
	}
	if resp.NumNodes != 4 || resp.NumResp != 4 || resp.NumErr != 0 {
		t.Errorf("InstallKey() = %d/%d answered, %d errors, want 4/4 and 0", resp.NumResp, resp.NumNodes, resp.NumErr)
	}
	list, err := sender.KeyManager().ListKeys()
	if err != nil {
		t.Fatalf("ListKeys() error: %v", err)
	}
	if list.Keys[b64(key(8))] != 4 || list.Keys[b64(key(7))] != 4 {
		t.Errorf("ListKeys() keys = %v, want both keys on 4 nodes", list.Keys)
	}
}
