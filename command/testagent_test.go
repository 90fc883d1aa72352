package command

import (
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/openserf/serf/agent"
	"github.com/openserf/serf/client"
	"github.com/openserf/serf/internal/testutil/cluster"
	"github.com/openserf/serf/internal/testutil/wait"
	"github.com/openserf/serf/serf"
)

// testAgent is an in-process agent with its RPC server, for command tests.
type testAgent struct {
	Agent   *agent.Agent
	RPCAddr string // host:port of the RPC server
	Addr    string // host:port gossip address, to join
	Logs    *cluster.SafeBuffer
}

// testAgentOptions tune startTestAgent.
type testAgentOptions struct {
	Name     string
	Tags     map[string]string
	AuthKey  string
	Key      []byte   // gossip encryption key
	Handlers []string // event handler specs
	Tweak    func(*serf.Config)
}

// startTestAgent starts an agent on a fresh 127.0.0.x address with fast
// timings and an RPC server on a free port; both stop at test cleanup.
func startTestAgent(t testing.TB, o testAgentOptions) *testAgent {
	t.Helper()
	if o.Name == "" {
		o.Name = "agent"
	}
	sc := cluster.Config(o.Name)
	sc.Tags = o.Tags
	if o.Key != nil {
		ring, err := memberlist.NewKeyring(nil, o.Key)
		if err != nil {
			t.Fatal(err)
		}
		sc.MemberlistConfig.Keyring = ring
	}
	if o.Tweak != nil {
		o.Tweak(sc)
	}
	logs := &cluster.SafeBuffer{}
	ring := agent.NewLogRing(512)
	out := io.MultiWriter(logs, ring)
	a, err := agent.Create(sc, agent.Options{EventHandlers: o.Handlers}, out)
	if err != nil {
		t.Fatalf("agent.Create() error: %v", err)
	}
	if err := a.Start(); err != nil {
		t.Fatalf("agent.Start() error: %v", err)
	}
	l, err := net.Listen("tcp", sc.MemberlistConfig.BindAddr+":0")
	if err != nil {
		t.Fatal(err)
	}
	rpc := agent.NewRPCServer(a, o.AuthKey, l, ring, a.Logger())
	t.Cleanup(func() {
		rpc.Shutdown()
		_ = a.Shutdown()
		a.Wait()
		if t.Failed() {
			t.Logf("log of %s:\n%s", o.Name, logs.String())
		}
	})
	ln := a.Serf().LocalMember()
	return &testAgent{
		Agent:   a,
		RPCAddr: l.Addr().String(),
		Addr:    net.JoinHostPort(ln.Addr.String(), strconv.Itoa(int(ln.Port))),
		Logs:    logs,
	}
}

// client returns an RPC client connected to ta, closed at test cleanup.
func (ta *testAgent) client(t testing.TB) *client.RPCClient {
	t.Helper()
	c, err := client.ClientFromConfig(&client.Config{Addr: ta.RPCAddr})
	if err != nil {
		t.Fatalf("connect to %s: %v", ta.RPCAddr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// startPair starts two agents, with options ao and bo, and joins them.
func startPair(t testing.TB, ao, bo testAgentOptions) (a, b *testAgent) {
	t.Helper()
	a, b = startTestAgent(t, ao), startTestAgent(t, bo)
	joinAgents(t, a, b)
	return a, b
}

// joinAgents joins b to a and waits until each sees the other alive.
func joinAgents(t testing.TB, a, b *testAgent) {
	t.Helper()
	if _, err := b.Agent.Join([]string{a.Addr}, false); err != nil {
		t.Fatalf("Join() error: %v", err)
	}
	wait.For(t, 20*time.Second, func() error {
		if a.Agent.Serf().NumNodes() < 2 || b.Agent.Serf().NumNodes() < 2 {
			return errNotYet
		}
		return nil
	})
}

var errNotYet = &notYet{}

type notYet struct{}

func (*notYet) Error() string { return "not yet" }
