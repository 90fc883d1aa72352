package command

import "testing"

func TestTestAgentStarts(t *testing.T) {
	a := startTestAgent(t, testAgentOptions{Name: "smoke"})
	b := startTestAgent(t, testAgentOptions{Name: "smoke2"})
	joinAgents(t, a, b)
	c := a.client(t)
	ms, err := c.Members()
	if err != nil || len(ms) != 2 {
		t.Fatalf("Members() = %v, %v, want 2 members", ms, err)
	}
}
