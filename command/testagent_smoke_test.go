package command

import "testing"

func TestTestAgentStarts(t *testing.T) {
	a, _ := startPair(t, testAgentOptions{Name: "smoke"}, testAgentOptions{Name: "smoke2"})
	c := a.client(t)
	ms, err := c.Members()
	if err != nil || len(ms) != 2 {
		t.Fatalf("Members() = %v, %v, want 2 members", ms, err)
	}
}
