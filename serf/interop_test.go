package serf_test

// Interop tests against released Serf agents (the oracle, installed by
// internal/testutil/oracle). They run by default when the oracle binaries are
// cached, and always under SERF_INTEROP=1 (CI), where a missing oracle is
// a failure rather than a skip.

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/openserf/serf/internal/testutil/agentproc"
	"github.com/openserf/serf/internal/testutil/cluster"
	"github.com/openserf/serf/internal/testutil/oracle"
	"github.com/openserf/serf/internal/testutil/wait"
	"github.com/openserf/serf/serf"
)

// oracleMember is one entry of `serf members -format=json`.
type oracleMember struct {
	Name   string            `json:"name"`
	Addr   string            `json:"addr"`
	Status string            `json:"status"`
	Tags   map[string]string `json:"tags"`
}

func oracleMembers(a *agentproc.Agent) (map[string]oracleMember, error) {
	out, err := a.CLI("members", "-format=json")
	if err != nil {
		return nil, fmt.Errorf("%v: %s", err, out)
	}
	var doc struct {
		Members []oracleMember `json:"members"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		return nil, fmt.Errorf("members json: %v: %s", err, out)
	}
	ms := map[string]oracleMember{}
	for _, m := range doc.Members {
		ms[m.Name] = m
	}
	return ms, nil
}

// waitOracleSees waits until the real agent lists name with status.
func waitOracleSees(t *testing.T, a *agentproc.Agent, name, status string, tags map[string]string) {
	t.Helper()
	wait.For(t, timeout, func() error {
		ms, err := oracleMembers(a)
		if err != nil {
			return err
		}
		m, ok := ms[name]
		if !ok || m.Status != status {
			return fmt.Errorf("real agent sees %s as %+v, want %s", name, m, status)
		}
		for k, v := range tags {
			if m.Tags[k] != v {
				return fmt.Errorf("real agent sees tags %v for %s, want %v", m.Tags, name, tags)
			}
		}
		return nil
	})
}

// startOracle starts a real agent on a fresh loopback address with a
// handler that appends every user event and query to a file, and answers
// query "ask" with "real-answer".
func startOracle(t *testing.T, version, name string, extra ...string) (*agentproc.Agent, string) {
	bin := oracle.Binary(t, version)
	dir := t.TempDir()
	events := filepath.Join(dir, "events")
	handler := filepath.Join(dir, "handler.sh")
	script := "#!/bin/sh\n" +
		"if [ \"$SERF_EVENT\" = query ]; then echo real-answer; exit 0; fi\n" +
		"printf '%s %s %s\\n' \"$SERF_EVENT\" \"$SERF_USER_EVENT\" \"$(cat)\" >> " + events + "\n"
	if err := os.WriteFile(handler, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	ip := cluster.IP()
	args := append([]string{
		"-node=" + name,
		"-bind=" + oracle.FreeAddr(t, ip),
		"-rpc-addr=" + oracle.FreeAddr(t, ip),
		"-tag=role=web",
		"-profile=local",
		"-event-handler=user=" + handler,
		"-event-handler=query:ask=" + handler,
		"-log-level=debug",
	}, extra...)
	a := agentproc.Start(t, bin, args...)
	a.WaitRPC(timeout)
	return a, events
}

// joinOracle starts a real agent of version and our node "ours", which
// joins it and relays its events (see relay).
func joinOracle(t *testing.T, version string) (*agentproc.Agent, *cluster.Node) {
	t.Helper()
	real, _ := startOracle(t, version, "real")
	ours, ch := ourNode(t, "ours", nil)
	relay(t, ours, ch)
	if _, err := ours.Serf.Join([]string{real.BindAddr}, false); err != nil {
		t.Fatal(err)
	}
	return real, ours
}

func ourNode(t *testing.T, name string, tweak func(*serf.Config)) (*cluster.Node, chan serf.Event) {
	cfg := cluster.Config(name)
	cfg.Tags = map[string]string{"role": "db", "dc": "lab"}
	ch := make(chan serf.Event, 256)
	cfg.EventCh = ch
	if tweak != nil {
		tweak(cfg)
	}
	return cluster.Start(t, cfg), ch
}

// relay copies events from ch to the node's recorder and answers queries
// named "ask" with "our-answer".
func relay(t *testing.T, n *cluster.Node, ch <-chan serf.Event) *eventLog {
	l := &eventLog{}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case e := <-ch:
				if q, ok := e.(*serf.Query); ok && q.Name == "ask" {
					_ = q.Respond([]byte("our-answer\n"))
				}
				l.add(e)
			case <-stop:
				return
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
	return l
}

func TestInteropMembershipAndUserEvents(t *testing.T) {
	oracle.EachVersion(t, func(t *testing.T, version, _ string) {
		real, events := startOracle(t, version, "real")
		ours, ch := ourNode(t, "ours", nil)
		log := relay(t, ours, ch)

		// We join the real agent.
		if _, err := ours.Serf.Join([]string{real.BindAddr}, false); err != nil {
			t.Fatalf("Join(%s) error: %v", real.BindAddr, err)
		}
		wait.For(t, timeout, func() error {
			m, ok := ours.Member("real")
			if !ok || m.Status != serf.StatusAlive || m.Tags["role"] != "web" {
				return fmt.Errorf("we see real as %+v", m)
			}
			if m.DelegateCur != 5 || m.DelegateMin != 2 || m.DelegateMax != 5 || m.ProtocolCur != 2 {
				return fmt.Errorf("real's versions = %+v", m)
			}
			return nil
		})
		waitOracleSees(t, real, "ours", "alive", map[string]string{"role": "db", "dc": "lab"})

		// A user event from the real agent reaches us...
		if out, err := real.CLI("event", "-coalesce=false", "from-real", "payload-1"); err != nil || !strings.Contains(out, "Event 'from-real' dispatched!") {
			t.Fatalf("serf event: %v: %s", err, out)
		}
		wait.For(t, timeout, func() error {
			for _, e := range log.users() {
				if e.Name == "from-real" && string(e.Payload) == "payload-1" {
					return nil
				}
			}
			return fmt.Errorf("no from-real event among %+v", log.users())
		})

		// ...and one from us reaches the real agent's handler.
		if err := ours.Serf.UserEvent("from-ours", []byte("payload-2"), false); err != nil {
			t.Fatal(err)
		}
		wait.For(t, timeout, func() error {
			data, _ := os.ReadFile(events)
			if !strings.Contains(string(data), "user from-ours payload-2") {
				return fmt.Errorf("real handler saw %q", data)
			}
			return nil
		})

		// A tag change is seen by the real agent.
		if err := ours.Serf.SetTags(map[string]string{"role": "cache"}); err != nil {
			t.Fatal(err)
		}
		waitOracleSees(t, real, "ours", "alive", map[string]string{"role": "cache"})

		// Our graceful leave is a leave, not a failure, to the real agent.
		if err := ours.Serf.Leave(); err != nil {
			t.Fatal(err)
		}
		ours.Shutdown()
		waitOracleSees(t, real, "ours", "left", nil)
	})
}

func TestInteropRealJoinsUs(t *testing.T) {
	oracle.EachVersion(t, func(t *testing.T, version, _ string) {
		ours, ch := ourNode(t, "ours", nil)
		relay(t, ours, ch)
		real, _ := startOracle(t, version, "real")
		if out, err := real.CLI("join", ours.Addr()); err != nil || !strings.Contains(out, "Successfully joined cluster by contacting 1 nodes.") {
			t.Fatalf("serf join: %v: %s", err, out)
		}
		waitOracleSees(t, real, "ours", "alive", map[string]string{"role": "db"})
		cluster.WaitStatus(t, timeout, []*cluster.Node{ours}, "real", serf.StatusAlive)

		// The real agent leaves gracefully: we see it left.
		if out, err := real.CLI("leave"); err != nil {
			t.Fatalf("serf leave: %v: %s", err, out)
		}
		cluster.WaitStatus(t, timeout, []*cluster.Node{ours}, "real", serf.StatusLeft)
	})
}

func TestInteropQueries(t *testing.T) {
	oracle.EachVersion(t, func(t *testing.T, version, _ string) {
		real, ours := joinOracle(t, version)
		waitOracleSees(t, real, "ours", "alive", nil)

		// A query from the real agent is acked and answered by us.
		out, err := real.CLI("query", "-format=json", "-timeout=3s", "ask", "q")
		if err != nil {
			t.Fatalf("serf query: %v: %s", err, out)
		}
		var res struct {
			Acks      []string
			Responses map[string]string
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("query json: %v: %s", err, out)
		}
		if !contains(res.Acks, "ours") || res.Responses["ours"] != "our-answer\n" || res.Responses["real"] != "real-answer\n" {
			t.Errorf("real query result = %+v, want acks and answers from both", res)
		}
		// With a tag filter only the real agent (role=web) answers.
		out, err = real.CLI("query", "-format=json", "-timeout=2s", "-tag", "role=w.b", "ask")
		if err != nil || !strings.Contains(out, `"real"`) || strings.Contains(out, `"ours"`) {
			t.Errorf("filtered real query = %v: %s", err, out)
		}

		// A query from us is acked and answered by the real agent, also
		// through relays.
		r, err := ours.Serf.Query("ask", []byte("q"), &serf.QueryParam{RequestAck: true, RelayFactor: 1, Timeout: 3 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		acks, responses := collect(t, r)
		if !contains(acks, "real") || responses["real"] != "real-answer\n" {
			t.Errorf("our query: acks %v responses %v, want the real agent's", acks, responses)
		}
		r, err = ours.Serf.Query("ask", nil, &serf.QueryParam{RequestAck: true, FilterNodes: []string{"ours"}, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if acks, _ := collect(t, r); strings.Join(acks, ",") != "ours" {
			t.Errorf("node-filtered query acks = %v, want only ours", acks)
		}

		// Kept out of gossip, our acked query still reaches the real
		// agent: redelivered directly, in a form Serf takes.
		ours.Serf.SkipQueryGossip()
		r, err = ours.Serf.Query("ask", []byte("q"), &serf.QueryParam{RequestAck: true, Timeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if acks, responses := collect(t, r); !contains(acks, "real") || responses["real"] != "real-answer\n" {
			t.Errorf("redelivered query: acks %v responses %v, want the real agent's", acks, responses)
		}

		// Reachability is a _serf_ping query with acks.
		out, err = real.CLI("reachability")
		if err != nil || !strings.Contains(out, "Successfully contacted all live nodes") {
			t.Errorf("serf reachability: %v: %s", err, out)
		}
	})
}

func TestInteropCoordinates(t *testing.T) {
	oracle.EachVersion(t, func(t *testing.T, version, _ string) {
		real, ours := joinOracle(t, version)
		// Ours accepted the real agent's coordinate...
		wait.For(t, timeout, func() error {
			if _, ok := ours.Serf.GetCachedCoordinate("real"); !ok {
				return fmt.Errorf("no coordinate for real yet")
			}
			return nil
		})
		// ...and the real agent ours: it can estimate the RTT to us.
		wait.For(t, timeout, func() error {
			out, err := real.CLI("rtt", "ours")
			if err != nil || !strings.Contains(out, "Estimated ours <-> real rtt:") {
				return fmt.Errorf("serf rtt: %v: %s", err, out)
			}
			return nil
		})
	})
}

func TestInteropKeyRotation(t *testing.T) {
	oracle.EachVersion(t, func(t *testing.T, version, _ string) {
		oldKey := make([]byte, 32)
		newKey := make([]byte, 32)
		newer := make([]byte, 16)
		for i := range oldKey {
			oldKey[i], newKey[i] = 1, 2
		}
		for i := range newer {
			newer[i] = 3
		}
		enc := base64.StdEncoding.EncodeToString
		dir := t.TempDir()
		realRing := filepath.Join(dir, "real.keyring")
		if err := os.WriteFile(realRing, []byte(`["`+enc(oldKey)+`"]`), 0o600); err != nil {
			t.Fatal(err)
		}
		real, _ := startOracle(t, version, "real", "-keyring-file="+realRing)
		var nodes []*cluster.Node
		for i := 0; i < 2; i++ {
			n, ch := ourNode(t, fmt.Sprintf("ours%d", i), func(c *serf.Config) {
				ring, err := memberlist.NewKeyring(nil, oldKey)
				if err != nil {
					t.Fatal(err)
				}
				c.MemberlistConfig.Keyring = ring
				c.KeyringFile = filepath.Join(dir, c.NodeName+".keyring")
			})
			relay(t, n, ch)
			if _, err := n.Serf.Join([]string{real.BindAddr}, false); err != nil {
				t.Fatalf("encrypted Join() error: %v", err)
			}
			nodes = append(nodes, n)
		}
		waitOracleSees(t, real, "ours0", "alive", nil)
		waitOracleSees(t, real, "ours1", "alive", nil)

		// Rotation driven by the real agent's CLI.
		for _, step := range [][]string{
			{"keys", "-install", enc(newKey)},
			{"keys", "-use", enc(newKey)},
			{"keys", "-remove", enc(oldKey)},
		} {
			if out, err := real.CLI(step...); err != nil || !strings.Contains(out, "Successfully") {
				t.Fatalf("serf %v: %v: %s", step, err, out)
			}
		}
		for _, f := range []string{realRing, filepath.Join(dir, "ours0.keyring"), filepath.Join(dir, "ours1.keyring")} {
			data, _ := os.ReadFile(f)
			var ks []string
			if err := json.Unmarshal(data, &ks); err != nil || len(ks) != 1 || ks[0] != enc(newKey) {
				t.Errorf("%s = %s, want only the new key", f, data)
			}
		}

		// Rotation driven by our key manager.
		km := nodes[0].Serf.KeyManager()
		if _, err := km.InstallKey(enc(newer)); err != nil {
			t.Fatalf("InstallKey() error: %v", err)
		}
		if _, err := km.UseKey(enc(newer)); err != nil {
			t.Fatalf("UseKey() error: %v", err)
		}
		if _, err := km.RemoveKey(enc(newKey)); err != nil {
			t.Fatalf("RemoveKey() error: %v", err)
		}
		resp, err := km.ListKeys()
		if err != nil || resp.Keys[enc(newer)] != 3 || len(resp.Keys) != 1 {
			t.Fatalf("ListKeys() = %+v, %v; want the newer key on all 3 nodes", resp, err)
		}
		out, err := real.CLI("keys", "-list")
		if err != nil || !strings.Contains(out, enc(newer)+"  [3/3]") {
			t.Errorf("serf keys -list: %v: %s", err, out)
		}
		// Still one cluster on the new key.
		if err := nodes[1].Serf.UserEvent("after", nil, false); err != nil {
			t.Fatal(err)
		}
		waitOracleSees(t, real, "ours1", "alive", nil)
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
