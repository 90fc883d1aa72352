package event

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/openserf/serf/serf"
)

// Environment variables handed to scripts. Their names are Serf's and
// scripts depend on them.
const (
	envEvent      = "SERF_EVENT"
	envSelfName   = "SERF_SELF_NAME"
	envSelfRole   = "SERF_SELF_ROLE"
	envTagPrefix  = "SERF_TAG_"
	envUserEvent  = "SERF_USER_EVENT"
	envUserLTime  = "SERF_USER_LTIME"
	envQueryName  = "SERF_QUERY_NAME"
	envQueryLTime = "SERF_QUERY_LTIME"
)

// roleTag is the tag Serf shows as a member's role.
const roleTag = "role"

// scriptInput is what a script gets for one event: the environment
// entries added to the agent's own, and its stdin.
type scriptInput struct {
	env   []string
	stdin []byte
	// payload says stdin is a user event's or a query's payload, whose
	// failed write Serf logs (a member event's it does not).
	payload bool
}

// inputFor builds a script's environment additions and stdin for e, self
// being the local member at the time of the call. Only the event types
// the serf library delivers are known; for anything else it fails with
// Serf's "Unknown event type" error.
func inputFor(self serf.Member, e serf.Event) (scriptInput, error) {
	var in scriptInput
	// Serf's order: the event, self, the local tags, then what is
	// particular to the event type.
	in.env = append(in.env,
		envEvent+"="+e.EventType().String(),
		envSelfName+"="+self.Name,
		envSelfRole+"="+self.Tags[roleTag],
	)
	// Serf adds the tags in map order. Sorted keys make the environment
	// the same on every run; it decides which value a script sees when
	// two keys map to one variable name ("a-b" and "a.b"): the last.
	for _, k := range slices.Sorted(maps.Keys(self.Tags)) {
		in.env = append(in.env, envTagPrefix+envName(k)+"="+self.Tags[k])
	}

	switch e := e.(type) {
	case serf.MemberEvent:
		in.stdin = memberLines(e.Members)
	case serf.UserEvent:
		in.env = append(in.env,
			envUserEvent+"="+e.Name,
			envUserLTime+"="+strconv.FormatUint(uint64(e.LTime), 10),
		)
		in.stdin = payloadLine(e.Payload)
		in.payload = true
	case *serf.Query:
		in.env = append(in.env,
			envQueryName+"="+e.Name,
			envQueryLTime+"="+strconv.FormatUint(uint64(e.LTime), 10),
		)
		in.stdin = payloadLine(e.Payload)
		in.payload = true
	default:
		return scriptInput{}, fmt.Errorf("Unknown event type: %s", e.EventType())
	}
	return in, nil
}

// envName turns a tag key into the tail of its SERF_TAG_ variable, as
// Serf does: upper-cased, then every character outside [A-Z0-9_]
// replaced by one "_" ("my-tag.x" gives "MY_TAG_X", "é" gives "_").
func envName(key string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, strings.ToUpper(key))
}

// memberLines is the stdin of a member event: one line per member,
// "NAME\tADDR\tROLE\tTAGS\n", TAGS being "k=v" pairs joined by ",". Only
// TAB and LF are escaped, as `\t` and `\n`, in NAME, ROLE and the whole
// of TAGS; "=" and "," inside tags are not, as in Serf.
//
// Serf lists the tags in map order; we sort them by key so the same
// member always gives the same line, which scripts can compare.
func memberLines(members []serf.Member) []byte {
	var b []byte
	for _, m := range members {
		pairs := make([]string, 0, len(m.Tags))
		for _, k := range slices.Sorted(maps.Keys(m.Tags)) {
			pairs = append(pairs, k+"="+m.Tags[k])
		}
		b = append(b, escapeField(m.Name)...)
		b = append(b, '\t')
		b = append(b, m.Addr.String()...)
		b = append(b, '\t')
		b = append(b, escapeField(m.Tags[roleTag])...)
		b = append(b, '\t')
		b = append(b, escapeField(strings.Join(pairs, ","))...)
		b = append(b, '\n')
	}
	return b
}

var fieldEscaper = strings.NewReplacer("\t", `\t`, "\n", `\n`)

// escapeField keeps a value on its line and in its column.
func escapeField(s string) string { return fieldEscaper.Replace(s) }

// payloadLine is the stdin of a user event or query: the payload, ending
// in a newline if it is not empty, since most shells' read needs one.
func payloadLine(payload []byte) []byte {
	if len(payload) == 0 || payload[len(payload)-1] == '\n' {
		return payload
	}
	out := make([]byte, 0, len(payload)+1)
	out = append(out, payload...)
	return append(out, '\n')
}
