package clitest

import (
	"encoding/json"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// normalizer rewrites a command's output so that two runs of the same
// steps on different clusters can be compared byte for byte. It knows the
// run-specific values (the run's directory and the agents' addresses) and
// applies the rules in normalize, nothing else.
type normalizer struct {
	dir   string            // the run's directory, holding handler scripts
	addrs map[string]string // "ip:port" or "ip" -> placeholder
	ports map[string]string // a gossip port -> placeholder
	// goSyntax holds old, new pairs for addresses and ports as "serf
	// monitor" prints them inside member records.
	goSyntax []string
}

func newNormalizer(dir string) *normalizer {
	return &normalizer{dir: dir, addrs: map[string]string{}, ports: map[string]string{}}
}

// addAgent registers an agent's addresses under its node name.
func (n *normalizer) addAgent(name, bindAddr, rpcAddr string) {
	if host, port, err := net.SplitHostPort(bindAddr); err == nil {
		n.addrs[host] = "<" + name + ":ip>"
		n.ports[port] = "<" + name + ":port>"
		// "serf monitor" prints member records in Go syntax, the address
		// as bytes and the port in hex.
		if ip := net.ParseIP(host).To4(); ip != nil {
			n.goSyntax = append(n.goSyntax,
				fmt.Sprintf(`"Addr":[]uint8{%#x, %#x, %#x, %#x}`, ip[0], ip[1], ip[2], ip[3]), `"Addr":<`+name+`:ip>`)
		}
		if p, err := strconv.Atoi(port); err == nil {
			n.goSyntax = append(n.goSyntax, fmt.Sprintf(`"Port":%#x,`, p), `"Port":<`+name+`:port>,`)
		}
	}
	n.addrs[bindAddr] = "<" + name + ":bind>"
	n.addrs[rpcAddr] = "<" + name + ":rpc>"
}

var (
	addrRE      = regexp.MustCompile(`\b127\.0\.0\.\d{1,3}(:\d{1,5})?\b`)
	portRE      = regexp.MustCompile(`"port": (\d+)`)
	timestampRE = regexp.MustCompile(`\b\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\b`)
	rttRE       = regexp.MustCompile(`rtt: \d+\.\d{3} ms`)
	reachTimeRE = regexp.MustCompile(`Query time: \d+\.\d\d sec, time to last response: \d+\.\d\d sec`)
	keyLineRE   = regexp.MustCompile(`^\S+\s+\[\d+/\d+\]$`)
	tagFieldRE  = regexp.MustCompile(`\S*=\S*`)
	columnSepRE = regexp.MustCompile(` {2,}`)
	jsonErrorRE = regexp.MustCompile(`^\{\n  "error": ("(?:[^"\\]|\\.)*")\n\}\n$`)
)

// capitalised are the memberlist error texts that Serf 0.10.2
// (memberlist v0.5.2) starts with a capital letter and Serf 0.11.0
// (memberlist v0.7.0) does not (docs/compatibility.md, "Serf 0.10.2 and
// 0.11.0").
var capitalised = []string{
	"Failed to join ",
	"Failed to resolve ",
	"Requested key is not in the keyring",
	"Removing the primary key is not allowed",
	"Empty primary key not allowed",
}

// normalize returns r with only what must differ between two runs
// rewritten. args is the command that produced r (its subcommand selects
// the per-command rules). Everything else, exit code and which stream
// included, is left for the comparison.
func (n *normalizer) normalize(args []string, r result) result {
	cmd := args[0]
	f := func(s string) string {
		// Every run has its own directory for handler scripts; "serf info"
		// shows their paths.
		if n.dir != "" {
			s = strings.ReplaceAll(s, n.dir, "<dir>")
		}
		// Every run has its own 127.0.0.x addresses and ports. Known ones
		// become <node:bind>, <node:rpc> or <node:ip>; others are a
		// client's ephemeral address ("Accepted client: 127.0.0.1:48882").
		s = addrRE.ReplaceAllStringFunc(s, n.addr)
		// The same inside the member records "serf monitor" prints.
		if len(n.goSyntax) > 0 {
			s = strings.NewReplacer(n.goSyntax...).Replace(s)
		}
		// The JSON of "serf members" has the gossip port on its own.
		s = portRE.ReplaceAllStringFunc(s, func(m string) string {
			if p, ok := n.ports[portRE.FindStringSubmatch(m)[1]]; ok {
				return `"port": ` + p
			}
			return m
		})
		// Log lines carry the time they were written.
		s = timestampRE.ReplaceAllString(s, "<time>")
		// Round trip estimates and query timings are measurements.
		s = rttRE.ReplaceAllString(s, "rtt: <N.NNN> ms")
		s = reachTimeRE.ReplaceAllString(s, "Query time: <N.NN> sec, time to last response: <N.NN> sec")
		// Serf 0.10.2's memberlist capitalises some error texts that reach
		// the CLI from agents; we follow 0.11.0 (docs/commands/join.md).
		for _, c := range capitalised {
			s = strings.ReplaceAll(s, c, strings.ToLower(c[:1])+c[1:])
		}
		// Help texts are written in our own words (docs/compatibility.md,
		// "Help texts"); only their first line, the usage line, is Serf's. The
		// help is always the last thing on its stream and is left out of
		// the per-command rules below.
		s, help := cutHelp(s)
		// With -format=json our members, info and query print a failure as
		// {"error": "<message>"}; Serf prints the plain message
		// (docs/compatibility.md, "JSON errors").
		if m := jsonErrorRE.FindStringSubmatch(s); m != nil {
			var msg string
			if json.Unmarshal([]byte(m[1]), &msg) == nil {
				s = msg + "\n"
			}
		}
		switch cmd {
		case "members":
			// Serf lists members, and tags within a line, in Go map order;
			// ours are sorted (docs/commands/members.md).
			s = sortMembers(s)
		case "keys":
			// Keys and failed nodes come in map order in Serf; sorted in ours
			// (docs/commands/keys.md).
			s = sortRuns(s, func(l string) bool { return keyLineRE.MatchString(l) })
			s = sortRuns(s, func(l string) bool { return strings.HasPrefix(l, "failed: ") })
		case "query":
			// Acks and responses are printed as they arrive, in no fixed
			// order when several nodes answer.
			s = sortRuns(s, func(l string) bool {
				return strings.HasPrefix(l, "Ack from '") || strings.HasPrefix(l, "Response from '")
			})
		case "reachability":
			// Acks are printed as they arrive, in no fixed order.
			s = sortRuns(s, func(l string) bool { return strings.HasPrefix(l, "\tAck from '") })
		case "monitor":
			// The fields of an "Event Info:" block come in map order in
			// Serf; sorted in ours (docs/commands/monitor.md).
			s = sortRuns(s, func(l string) bool { return strings.HasPrefix(l, "\t") })
		case "info":
			// Runtime and gossip statistics differ from run to run and
			// between implementations; their keys must not.
			s = maskInfo(s)
		}
		return s + help
	}
	return result{Code: r.Code, Stdout: f(r.Stdout), Stderr: f(r.Stderr)}
}

// addr maps one address found in output to its placeholder.
func (n *normalizer) addr(a string) string {
	if p, ok := n.addrs[a]; ok {
		return p
	}
	host, _, err := net.SplitHostPort(a)
	if err != nil {
		return "<ip>"
	}
	if p, ok := n.addrs[host]; ok {
		return p + ":<port>"
	}
	return "<addr>"
}

// cutHelp splits s before a command help's "Usage: serf ..." line and
// returns the text before it and the usage line followed by "<help>".
func cutHelp(s string) (before, help string) {
	i := strings.Index(s, "Usage: serf ")
	if i < 0 || (i > 0 && s[i-1] != '\n') {
		return s, ""
	}
	end := strings.IndexByte(s[i:], '\n')
	if end < 0 {
		return s, ""
	}
	return s[:i], s[i:i+end+1] + "<help>\n"
}

// sortMembers sorts the member lines of "serf members" text output and
// the comma-separated tags within each line, or the member objects of its
// JSON output by name. Tags never contain spaces or commas in these tests.
// The columns are aligned again afterwards, since the placeholders are not
// as wide as the addresses they replace; checkColumns checks the alignment
// of the raw output.
func sortMembers(s string) string {
	if strings.HasPrefix(s, "{") {
		return sortJSONMembers(s)
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = tagFieldRE.ReplaceAllStringFunc(l, func(f string) string {
			tags := strings.Split(f, ",")
			slices.Sort(tags)
			return strings.Join(tags, ",")
		})
	}
	lines = realign(lines)
	return sortRuns(strings.Join(lines, "\n"), func(l string) bool { return l != "" })
}

// realign re-pads the columns of a table whose columns are separated by
// two or more spaces, as columnize does: every column but the last padded
// to its widest cell, then two spaces.
func realign(lines []string) []string {
	var (
		cells  [][]string
		widths []int
	)
	for _, l := range lines {
		c := columnSepRE.Split(l, -1)
		cells = append(cells, c)
		for i, f := range c[:len(c)-1] {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], len(f))
		}
	}
	out := make([]string, len(lines))
	for i, c := range cells {
		var b strings.Builder
		for j, f := range c[:len(c)-1] {
			b.WriteString(f + strings.Repeat(" ", widths[j]-len(f)+2))
		}
		b.WriteString(c[len(c)-1])
		out[i] = b.String()
	}
	return out
}

// checkColumns reports whether the lines of a table whose columns are
// separated by two or more spaces start every column at the same offset,
// as columnize's output does. Lines without such a separator (empty, or a
// warning before the table) are not part of the table.
func checkColumns(s string) error {
	var starts [][]int
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		var st []int
		for _, m := range columnSepRE.FindAllStringIndex(l, -1) {
			st = append(st, m[1])
		}
		if st != nil {
			starts = append(starts, st)
		}
	}
	for _, st := range starts[min(1, len(starts)):] {
		if !slices.Equal(st, starts[0]) {
			return fmt.Errorf("columns start at %v and at %v in\n%s", starts[0], st, s)
		}
	}
	return nil
}

// sortJSONMembers reorders the member objects of "serf members
// -format=json" by their "name" line, keeping every other byte.
func sortJSONMembers(s string) string {
	lines := strings.Split(s, "\n")
	var (
		objs  [][]string
		start = -1
		first = -1
		last  = -1
	)
	for i, l := range lines {
		switch l {
		case "    {":
			start = i
			if first < 0 {
				first = i
			}
		case "    }", "    },":
			if start < 0 {
				return s
			}
			obj := slices.Clone(lines[start : i+1])
			obj[len(obj)-1] = "    }"
			objs = append(objs, obj)
			start, last = -1, i
		}
	}
	if len(objs) < 2 {
		return s
	}
	// Line 1 of an object is its "name".
	slices.SortStableFunc(objs, func(a, b []string) int { return strings.Compare(a[1], b[1]) })
	var mid []string
	for i, obj := range objs {
		if i < len(objs)-1 {
			obj[len(obj)-1] = "    },"
		}
		mid = append(mid, obj...)
	}
	out := append(slices.Clone(lines[:first]), mid...)
	return strings.Join(append(out, lines[last+1:]...), "\n")
}

// sortRuns sorts every maximal run of consecutive lines for which in
// returns true.
func sortRuns(s string, in func(string) bool) string {
	lines := strings.Split(s, "\n")
	for i := 0; i < len(lines); {
		if !in(lines[i]) {
			i++
			continue
		}
		j := i
		for j < len(lines) && in(lines[j]) {
			j++
		}
		slices.Sort(lines[i:j])
		i = j
	}
	return strings.Join(lines, "\n")
}

// infoKept are the "serf" entries of "serf info" whose values are the
// same in every run of a scenario; the other "serf" entries and all of
// "runtime" are masked.
var infoKept = map[string]bool{"encrypted": true, "failed": true, "left": true, "members": true}

// maskInfo replaces the values of the "runtime" and "serf" sections of
// "serf info" output, text or JSON, with <v>, except infoKept.
func maskInfo(s string) string {
	lines := strings.Split(s, "\n")
	section := ""
	for i, l := range lines {
		var key, comma string
		switch {
		case strings.HasSuffix(l, ":") && !strings.HasPrefix(l, "\t"): // text section
			section = strings.TrimSuffix(l, ":")
			continue
		case strings.HasPrefix(l, `  "`) && strings.HasSuffix(l, `": {`): // JSON section
			section = strings.TrimSuffix(strings.TrimPrefix(l, `  "`), `": {`)
			continue
		case strings.HasPrefix(l, "\t") && strings.Contains(l, " = "):
			key, _, _ = strings.Cut(l[1:], " = ")
		case strings.HasPrefix(l, `    "`) && strings.Contains(l, `": "`):
			key, _, _ = strings.Cut(l[5:], `": "`)
			if strings.HasSuffix(l, ",") {
				comma = ","
			}
		default:
			continue
		}
		if section != "runtime" && (section != "serf" || infoKept[key]) {
			continue
		}
		if strings.HasPrefix(l, "\t") {
			lines[i] = "\t" + key + " = <v>"
		} else {
			lines[i] = `    "` + key + `": "<v>"` + comma
		}
	}
	return strings.Join(lines, "\n")
}

func TestNormalize(t *testing.T) {
	n := newNormalizer("/tmp/run1")
	n.addAgent("a", "127.0.0.21:7001", "127.0.0.21:7101")
	n.addAgent("b", "127.0.0.2:7002", "127.0.0.2:7102")
	tests := []struct {
		name string
		args []string
		in   result
		want result
	}{{
		name: "members text",
		args: []string{"members"},
		in:   result{Stdout: "b  127.0.0.2:7002   alive  role=db,dc=w\na  127.0.0.21:7001  alive  x=1,dc=e\n"},
		want: result{Stdout: "a  <a:bind>  alive  dc=e,x=1\nb  <b:bind>  alive  dc=w,role=db\n"},
	}, {
		name: "members json",
		args: []string{"members", "-format=json"},
		in: result{Stdout: "{\n  \"members\": [\n    {\n      \"name\": \"b\",\n      \"port\": 7002\n    },\n" +
			"    {\n      \"name\": \"a\",\n      \"port\": 7001\n    }\n  ]\n}\n"},
		want: result{Stdout: "{\n  \"members\": [\n    {\n      \"name\": \"a\",\n      \"port\": <a:port>\n    },\n" +
			"    {\n      \"name\": \"b\",\n      \"port\": <b:port>\n    }\n  ]\n}\n"},
	}, {
		name: "members json null",
		args: []string{"members", "-format=json"},
		in:   result{Stdout: "{\n  \"members\": null\n}\n"},
		want: result{Stdout: "{\n  \"members\": null\n}\n"},
	}, {
		name: "log lines and clients",
		args: []string{"monitor"},
		in:   result{Stdout: "2026/01/02 10:42:01 [INFO] agent.ipc: Accepted client: 127.0.0.1:48882\nEvent Info:\n\tName: \"x\"\n\tCoalesce: true\n"},
		want: result{Stdout: "<time> [INFO] agent.ipc: Accepted client: <addr>\nEvent Info:\n\tCoalesce: true\n\tName: \"x\"\n"},
	}, {
		name: "help and flag error",
		args: []string{"members", "-bogus"},
		in:   result{Code: 1, Stdout: "Usage: serf members [options]\n\n  Words.\n", Stderr: "flag provided but not defined: -bogus\n"},
		want: result{Code: 1, Stdout: "Usage: serf members [options]\n<help>\n", Stderr: "flag provided but not defined: -bogus\n"},
	}, {
		name: "monitor member record",
		args: []string{"monitor"},
		in:   result{Stdout: "Event Info:\n\tMembers: []interface {}{map[interface {}]interface {}{\"Addr\":[]uint8{0x7f, 0x0, 0x0, 0x15}, \"Name\":\"a\", \"Port\":0x1b59, \"Tags\":map[interface {}]interface {}{}}}\n\tEvent: \"member-update\"\n"},
		want: result{Stdout: "Event Info:\n\tEvent: \"member-update\"\n\tMembers: []interface {}{map[interface {}]interface {}{\"Addr\":<a:ip>, \"Name\":\"a\", \"Port\":<a:port>, \"Tags\":map[interface {}]interface {}{}}}\n"},
	}, {
		name: "info",
		args: []string{"info"},
		in:   result{Stdout: "agent:\n\tname = a\nevent_handlers:\n\tuser: = /tmp/run1/e.sh\nruntime:\n\tarch = amd64\nserf:\n\tevent_time = 3\n\tmembers = 2\ntags:\n\trole = web\n"},
		want: result{Stdout: "agent:\n\tname = a\nevent_handlers:\n\tuser: = <dir>/e.sh\nruntime:\n\tarch = <v>\nserf:\n\tevent_time = <v>\n\tmembers = 2\ntags:\n\trole = web\n"},
	}, {
		name: "info json",
		args: []string{"info", "-format=json"},
		in:   result{Stdout: "{\n  \"agent\": {\n    \"name\": \"a\"\n  },\n  \"runtime\": {\n    \"arch\": \"amd64\",\n    \"os\": \"linux\"\n  },\n  \"serf\": {\n    \"left\": \"0\",\n    \"query_time\": \"1\"\n  }\n}\n"},
		want: result{Stdout: "{\n  \"agent\": {\n    \"name\": \"a\"\n  },\n  \"runtime\": {\n    \"arch\": \"<v>\",\n    \"os\": \"<v>\"\n  },\n  \"serf\": {\n    \"left\": \"0\",\n    \"query_time\": \"<v>\"\n  }\n}\n"},
	}, {
		name: "rtt",
		args: []string{"rtt", "a", "b"},
		in:   result{Stdout: "Estimated a <-> b rtt: 0.455 ms\n"},
		want: result{Stdout: "Estimated a <-> b rtt: <N.NNN> ms\n"},
	}, {
		name: "keys and 0.10 capitals",
		args: []string{"keys", "-remove=k"},
		in:   result{Code: 1, Stdout: "failed:  b  Removing the primary key is not allowed\nfailed:  a  Removing the primary key is not allowed\n"},
		want: result{Code: 1, Stdout: "failed:  a  removing the primary key is not allowed\nfailed:  b  removing the primary key is not allowed\n"},
	}, {
		name: "json error",
		args: []string{"members", "-format=json"},
		in:   result{Code: 1, Stdout: "{\n  \"error\": \"Error connecting to Serf agent: dial tcp 127.0.0.1:7373: \\\"x\\\"\"\n}\n"},
		want: result{Code: 1, Stdout: "Error connecting to Serf agent: dial tcp <addr>: \"x\"\n"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := n.normalize(tt.args, tt.in); got != tt.want {
				t.Errorf("normalize(%q) =\n%s\nwant\n%s", tt.args, got, tt.want)
			}
		})
	}
}
