package command

import (
	"maps"
	"strings"
	"testing"
)

func TestTagsCommand(t *testing.T) {
	a := startTestAgent(t, testAgentOptions{Name: "tags-a", Tags: map[string]string{"role": "web", "dc": "east"}})
	const ok = "Successfully updated agent tags\n"

	tests := []struct {
		name string
		args []string
		want map[string]string
	}{
		{"set", []string{"-set", "rack=r1", "-set", "role=db"},
			map[string]string{"role": "db", "dc": "east", "rack": "r1"}},
		{"value with =", []string{"-set", "expr=a=b"},
			map[string]string{"role": "db", "dc": "east", "rack": "r1", "expr": "a=b"}},
		{"delete", []string{"-delete", "rack", "-delete", "expr", "-delete", "missing"},
			map[string]string{"role": "db", "dc": "east"}},
		{"set wins over delete", []string{"-delete", "dc", "-set", "dc=west"},
			map[string]string{"role": "db", "dc": "west"}},
		{"empty value", []string{"-set", "role="}, map[string]string{"role": "", "dc": "west"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"-rpc-addr=" + a.RPCAddr}, tt.args...)
			runWithUI(t, named("tags"), args...).check(t, args, cmdResult{out: ok})
			if got := a.Agent.Serf().LocalMember().Tags; !maps.Equal(got, tt.want) {
				t.Errorf("tags after Run(%q) = %v, want %v", args, got, tt.want)
			}
		})
	}
}

func TestTagsCommandErrors(t *testing.T) {
	a := startTestAgent(t, testAgentOptions{Name: "tags-err"})
	addr, msg := refusedRPCAddr(t)
	help := helpOf("tags")

	runCases(t, named("tags"), nil, []cmdCase{
		{"nothing to do", []string{"-rpc-addr=" + a.RPCAddr}, showsHelp(help)},
		{"arguments are not tags", []string{"-rpc-addr=" + a.RPCAddr, "a=b"}, showsHelp(help)},
		{"invalid tag", []string{"-rpc-addr=" + a.RPCAddr, "-set", "foo"}, failure("Error: Invalid tag: 'foo'")},
		{"empty key", []string{"-rpc-addr=" + a.RPCAddr, "-set", "=v"}, failure("Error: Invalid tag: '=v'")},
		// Serf connects before it looks at the -set values.
		{"invalid tag, no agent", []string{"-rpc-addr=" + addr, "-set", "foo"}, failure(msg)},
		{"no agent", []string{"-rpc-addr=" + addr, "-delete", "x"}, failure(msg)},
		{"too large", []string{"-rpc-addr=" + a.RPCAddr, "-set", "big=" + strings.Repeat("x", 600)},
			failure("Error setting tags: Encoded length of tags exceeds limit of 512 bytes")},
		{"unknown flag", []string{"-bogus"}, showsHelp(help)},
	})
	if got := a.Agent.Serf().LocalMember().Tags; len(got) != 0 {
		t.Errorf("tags after failed updates = %v, want none", got)
	}
}
