package command

import "testing"

func TestTestAgentStarts(t *testing.T) {
	a := startTestAgent(t, testAgentOptions{Name: "smoke"})
	b := startTestAgent(t, testAgentOptions{Name: "smoke2"})
	joinAgents(t, a, b)
	c, err := rpcClient(a.RPCAddr, "")
	if err != nil {
		t.Fatalf("rpcClient() error: %v", err)
	}
	defer c.Close()
	ms, err := c.Members()
	if err != nil || len(ms) != 2 {
		t.Fatalf("Members() = %v, %v, want 2 members", ms, err)
	}
}
