package serf_test

import (
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/openserf/serf/internal/testutil/cluster"
	"github.com/openserf/serf/serf"
)

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
