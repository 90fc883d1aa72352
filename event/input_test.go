package event

import (
	"bytes"
	"net"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/openserf/serf/serf"
)

func TestEnvName(t *testing.T) {
	cases := map[string]string{
		"role":       "ROLE",
		"my-tag.x":   "MY_TAG_X",
		"dc_1":       "DC_1",
		"a b=c":      "A_B_C",
		"é":          "_",
		"日本":         "__",
		"bad\xffkey": "BAD_KEY",
		"":           "",
	}
	// Serf's rule, written as a regular expression over runes.
	serfRule := regexp.MustCompile(`[^A-Z0-9_]`)
	for key, want := range cases {
		if got := envName(key); got != want {
			t.Errorf("envName(%q) = %q, want %q", key, got, want)
		}
		if got, rule := envName(key), serfRule.ReplaceAllString(strings.ToUpper(key), "_"); got != rule {
			t.Errorf("envName(%q) = %q, Serf's rule gives %q", key, got, rule)
		}
	}
}

func TestMemberLines(t *testing.T) {
	members := []serf.Member{
		{
			Name: "n2",
			Addr: net.ParseIP("127.0.0.12"),
			Tags: map[string]string{"role": "db", "my-tag.x": "v 1"},
		},
		{
			Name: "tab\there\nnl",
			Addr: net.ParseIP("2001:db8::1"),
			Tags: map[string]string{"role": "we\tb\n", "z": "a=b,c", "a": "x\\t"},
		},
		{Name: "bare"},
	}
	want := "n2\t127.0.0.12\tdb\tmy-tag.x=v 1,role=db\n" +
		"tab\\there\\nnl\t2001:db8::1\twe\\tb\\n\ta=x\\t,role=we\\tb\\n,z=a=b,c\n" +
		"bare\t<nil>\t\t\n"
	if got := string(memberLines(members)); got != want {
		t.Errorf("memberLines =\n%q\nwant\n%q", got, want)
	}
	if got := memberLines(nil); len(got) != 0 {
		t.Errorf("memberLines(nil) = %q, want nothing", got)
	}
}

func TestPayloadLine(t *testing.T) {
	cases := map[string]string{
		"":         "",
		"x":        "x\n",
		"x\n":      "x\n",
		"a\nb":     "a\nb\n",
		"\n":       "\n",
		"a\n\n":    "a\n\n",
		"a\r":      "a\r\n",
		"\x00\xff": "\x00\xff\n",
	}
	for in, want := range cases {
		payload := []byte(in)
		if got := payloadLine(payload); string(got) != want {
			t.Errorf("payloadLine(%q) = %q, want %q", in, got, want)
		}
		if string(payload) != in {
			t.Errorf("payloadLine(%q) changed its argument to %q", in, payload)
		}
	}
}

func TestInputFor(t *testing.T) {
	self := serf.Member{Name: "node1", Tags: map[string]string{"role": "web", "my-tag.x": "v=1", "dc": "east"}}
	base := []string{
		"SERF_EVENT=%s",
		"SERF_SELF_NAME=node1",
		"SERF_SELF_ROLE=web",
		"SERF_TAG_DC=east",
		"SERF_TAG_MY_TAG_X=v=1",
		"SERF_TAG_ROLE=web",
	}
	withEvent := func(typ string, extra ...string) []string {
		env := append([]string(nil), base...)
		env[0] = strings.Replace(env[0], "%s", typ, 1)
		return append(env, extra...)
	}
	member := serf.MemberEvent{Type: serf.EventMemberFailed, Members: []serf.Member{{Name: "n2", Addr: net.ParseIP("10.0.0.2")}}}
	cases := []struct {
		e     serf.Event
		env   []string
		stdin string
	}{
		{member, withEvent("member-failed"), "n2\t10.0.0.2\t\t\n"},
		{userEvent("deploy", 42, "v2"), withEvent("user", "SERF_USER_EVENT=deploy", "SERF_USER_LTIME=42"), "v2\n"},
		{&serf.Query{Name: "load", LTime: 7}, withEvent("query", "SERF_QUERY_NAME=load", "SERF_QUERY_LTIME=7"), ""},
	}
	for _, c := range cases {
		in, err := inputFor(self, c.e)
		if err != nil {
			t.Errorf("inputFor(%v) error: %v", c.e, err)
			continue
		}
		if !reflect.DeepEqual(in.env, c.env) {
			t.Errorf("inputFor(%v) env = %q, want %q", c.e, in.env, c.env)
		}
		if !bytes.Equal(in.stdin, []byte(c.stdin)) {
			t.Errorf("inputFor(%v) stdin = %q, want %q", c.e, in.stdin, c.stdin)
		}
	}

	_, err := inputFor(self, unknownEvent{})
	if want := "Unknown event type: unknown-event(99)"; err == nil || err.Error() != want {
		t.Errorf("inputFor(unknown) error = %v, want %q", err, want)
	}
}
