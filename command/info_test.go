package command

import (
	"encoding/json"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

func TestInfoCommand(t *testing.T) {
	a := startTestAgent(t, testAgentOptions{
		Name:     "info-a",
		Tags:     map[string]string{"role": "db", "my-tag.x": "v 1"},
		Handlers: []string{"/bin/true", "user:deploy=/bin/false"},
	})

	args := []string{"-rpc-addr=" + a.RPCAddr}
	r := runWithUI(t, named("info"), args...)
	if r.code != 0 || r.err != "" {
		t.Fatalf("Run(%q) = %d, error output %q, want 0 and none", args, r.code, r.err)
	}
	// The whole layout: sections in order, each "name:" then sorted
	// TAB-indented "key = value" lines.
	layout := regexp.MustCompile(`^agent:\n\tname = info-a\n` +
		`event_handlers:\n\t\*: = /bin/true\n\tuser:deploy = /bin/false\n` +
		`runtime:\n\tarch = ` + runtime.GOARCH + `\n\tcpu_count = \d+\n\tgoroutines = \d+\n\tmax_procs = \d+\n` +
		`\tos = ` + runtime.GOOS + `\n\tversion = ` + regexp.QuoteMeta(runtime.Version()) + `\n` +
		`serf:\n\tcoordinate_resets = 0\n\tencrypted = false\n\tevent_queue = \d+\n\tevent_time = \d+\n` +
		`\tfailed = 0\n\thealth_score = \d+\n\tintent_queue = \d+\n\tleft = 0\n\tmember_time = \d+\n` +
		`\tmembers = 1\n\tquery_queue = \d+\n\tquery_time = \d+\n` +
		`tags:\n\tmy-tag.x = v 1\n\trole = db\n$`)
	if !layout.MatchString(r.out) {
		t.Errorf("Run(%q) output =\n%s\nwant it to match %s", args, r.out, layout)
	}

	args = []string{"-rpc-addr=" + a.RPCAddr, "-format=json"}
	r = runWithUI(t, named("info"), args...)
	var stats map[string]map[string]string
	if err := json.Unmarshal([]byte(r.out), &stats); err != nil || r.code != 0 {
		t.Fatalf("Run(%q) = %d, %q; JSON error %v", args, r.code, r.out, err)
	}
	if stats["agent"]["name"] != "info-a" || stats["tags"]["role"] != "db" || stats["serf"]["members"] != "1" {
		t.Errorf("Run(%q) JSON = %v, want agent.name info-a, tags.role db, serf.members 1", args, stats)
	}
	if !strings.HasPrefix(r.out, "{\n  \"agent\": {\n    \"name\": \"info-a\"\n  },\n") {
		t.Errorf("Run(%q) output = %q, want 2-space indented JSON with sorted keys", args, r.out)
	}
}

func TestInfoCommandErrors(t *testing.T) {
	a := startTestAgent(t, testAgentOptions{Name: "info-err"})
	addr, msg := refusedRPCAddr(t)
	help := helpOf("info")

	runCases(t, named("info"), nil, []cmdCase{
		{"no agent", []string{"-rpc-addr=" + addr}, failure(msg)},
		{"no agent json", []string{"-rpc-addr=" + addr, "-format=json"}, cmdResult{code: 1, out: jsonFailure(msg)}},
		{"invalid format", []string{"-rpc-addr=" + a.RPCAddr, "-format=xml"},
			failure("Encoding error: Invalid output format \"xml\"")},
		{"unknown flag", []string{"-bogus"}, showsHelp(help)},
	})
}

func TestStatsOutputString(t *testing.T) {
	s := statsOutput{
		"b": {"z": "1", "a": "2"},
		"a": {},
		"c": {"k": "v = w"},
	}
	want := "a:\nb:\n\ta = 2\n\tz = 1\nc:\n\tk = v = w\n"
	if got := s.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got := (statsOutput{}).String(); got != "" {
		t.Errorf("String() of no sections = %q, want empty", got)
	}
}
