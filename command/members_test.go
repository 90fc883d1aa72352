package command

import (
	"flag"
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/cli"
	"github.com/openserf/serf/client"
)

func TestMembersCommand(t *testing.T) {
	// alpha has no tags and sorts first, so its line keeps the padding
	// of the empty tags column (Serf's columnize quirk).
	a, b := startPair(t, testAgentOptions{Name: "alpha"}, testAgentOptions{
		Name: "beta",
		Tags: map[string]string{"role": "web", "dc": "east", "z": "1"},
	})

	// Expected columns, built by hand: every column but the last is
	// padded to its widest cell and columns are two spaces apart.
	addrW := max(len(a.Addr), len(b.Addr))
	line := func(name, addr, tags string) string {
		return fmt.Sprintf("%-5s  %-*s  alive  %s", name, addrW, addr, tags)
	}
	alpha := line("alpha", a.Addr, "")
	beta := line("beta", b.Addr, "dc=east,role=web,z=1")
	detail := func(name, addr, tags string) string {
		tagsW := len("dc=east,role=web,z=1")
		return fmt.Sprintf("%-5s  %-*s  alive  %-*s  Protocol Version: 5  Available Protocol Range: [2, 5]",
			name, addrW, addr, tagsW, tags)
	}
	single := func(name, addr, tags string) string {
		return strings.TrimRight(fmt.Sprintf("%s  %s  alive  %s", name, addr, tags), " ")
	}

	port := func(ta *testAgent) string {
		_, p, _ := net.SplitHostPort(ta.Addr)
		return p
	}
	wantJSON := `{
  "members": [
    {
      "name": "alpha",
      "addr": "` + a.Addr + `",
      "port": ` + port(a) + `,
      "tags": {},
      "status": "alive",
      "protocol": {
        "max": 5,
        "min": 2,
        "version": 5
      }
    },
    {
      "name": "beta",
      "addr": "` + b.Addr + `",
      "port": ` + port(b) + `,
      "tags": {
        "dc": "east",
        "role": "web",
        "z": "1"
      },
      "status": "alive",
      "protocol": {
        "max": 5,
        "min": 2,
        "version": 5
      }
    }
  ]
}
`
	help := helpOf("members")

	tests := []cmdCase{
		{"text", nil, cmdResult{out: alpha + "\n" + beta + "\n"}},
		{"detailed", []string{"-detailed"},
			cmdResult{out: detail("alpha", a.Addr, "") + "\n" + detail("beta", b.Addr, "dc=east,role=web,z=1") + "\n"}},
		{"json", []string{"-format=json"}, cmdResult{out: wantJSON}},
		{"json ignores detailed", []string{"-format", "json", "-detailed"}, cmdResult{out: wantJSON}},
		{"name", []string{"-name=alp.*"}, cmdResult{out: single("alpha", a.Addr, "") + "\n"}},
		{"name is anchored", []string{"-name=alp"}, cmdResult{out: "\n"}},
		{"alternation is not grouped", []string{"-name=alpha|beta"}, cmdResult{out: alpha + "\n" + beta + "\n"}},
		{"status", []string{"-status=alive"}, cmdResult{out: alpha + "\n" + beta + "\n"}},
		{"status no match", []string{"-status=failed"}, cmdResult{out: "\n"}},
		{"tag", []string{"-tag", "role=web"}, cmdResult{out: single("beta", b.Addr, "dc=east,role=web,z=1") + "\n"}},
		{"tags all must match", []string{"-tag", "role=web", "-tag", "dc=west"}, cmdResult{out: "\n"}},
		{"tag is anchored", []string{"-tag", "role=w"}, cmdResult{out: "\n"}},
		{"missing tag matches empty", []string{"-tag", "z="}, cmdResult{out: single("alpha", a.Addr, "") + "\n"}},
		{"role", []string{"-role=web"},
			cmdResult{out: roleDeprecation + "\n" + single("beta", b.Addr, "dc=east,role=web,z=1") + "\n"}},
		{"json no match", []string{"-format=json", "-name=nobody"}, cmdResult{out: "{\n  \"members\": null\n}\n"}},
		{"flags stop at first argument", []string{"extra", "-format=json"}, cmdResult{out: alpha + "\n" + beta + "\n"}},
		{"invalid tag", []string{"-tag", "foo"}, failure("Error: Invalid tag: 'foo'")},
		{"empty tag key", []string{"-tag", "=x"}, failure("Error: Invalid tag: '=x'")},
		{"invalid tag json", []string{"-format=json", "-tag", "foo"},
			cmdResult{code: 1, out: jsonFailure("Error: Invalid tag: 'foo'")}},
		{"invalid format", []string{"-format=xml"}, failure("Encoding error: Invalid output format \"xml\"")},
		{"bad regexp", []string{"-name=("}, failure("Error retrieving members: client closed")},
		{"bad regexp json", []string{"-format=json", "-status=("},
			cmdResult{code: 1, out: jsonFailure("Error retrieving members: client closed")}},
		{"unknown flag", []string{"-bogus"}, showsHelp(help)},
	}
	runCases(t, named("members"), []string{"-rpc-addr=" + a.RPCAddr}, tests)
}

func TestMembersCommandConnectError(t *testing.T) {
	addr, msg := refusedRPCAddr(t)
	runCases(t, named("members"), []string{"-rpc-addr=" + addr}, []cmdCase{
		{"text", nil, failure(msg)},
		{"json", []string{"-format=json"}, cmdResult{code: 1, out: jsonFailure(msg)}},
		// As in Serf, the format is checked only once there is output.
		{"bad format", []string{"-format=xml"}, failure(msg)},
	})
}

func TestMembersOutputSortsAndFillsTags(t *testing.T) {
	in := []client.Member{
		{Name: "zed", Addr: net.ParseIP("::1"), Port: 7946, Status: "failed",
			Tags: map[string]string{"b": "2", "a": "1"}, DelegateMin: 2, DelegateMax: 5, DelegateCur: 4},
		{Name: "amy", Addr: net.ParseIP("10.0.0.1").To4(), Port: 7947, Status: "left"},
	}
	out := newMembersOutput(in, false)
	got, err := formatOutput(out, "text")
	if err != nil {
		t.Fatal(err)
	}
	want := "amy  10.0.0.1:7947  left    \nzed  [::1]:7946     failed  a=1,b=2"
	if got != want {
		t.Errorf("formatOutput(text) = %q, want %q", got, want)
	}
	got, err = formatOutput(out, "json")
	if err != nil {
		t.Fatal(err)
	}
	for _, frag := range []string{`"name": "amy"`, `"tags": {}`, `"addr": "[::1]:7946"`, `"version": 4`} {
		if !strings.Contains(got, frag) {
			t.Errorf("formatOutput(json) = %s, want it to contain %s", got, frag)
		}
	}
	if strings.Index(got, `"amy"`) > strings.Index(got, `"zed"`) {
		t.Errorf("formatOutput(json) = %s, want amy before zed", got)
	}
}

func TestPrintFailure(t *testing.T) {
	tests := []struct {
		format string
		msg    string
		want   cmdResult
	}{
		{"text", "Error: x", cmdResult{code: 1, err: "Error: x\n"}},
		{"xml", "Error: x", cmdResult{code: 1, err: "Error: x\n"}},
		{"json", `Error: "quoted" <tag>`, cmdResult{code: 1, out: "{\n  \"error\": \"Error: \\\"quoted\\\" \\u003ctag\\u003e\"\n}\n"}},
	}
	for _, tt := range tests {
		ui := cli.NewMockUi()
		code := printFailure(ui, tt.format, tt.msg)
		got := cmdResult{code: code, out: ui.OutputWriter.String(), err: ui.ErrorWriter.String()}
		got.check(t, []string{tt.format, tt.msg}, tt.want)
	}
}

// The tests below cover what the commands that talk to an agent share: the RPC flags and their environment
// defaults, auth, encryption, help and flag errors.

// clientCommand describes one agent-facing command for the shared tests.
type clientCommand struct {
	name   string
	newCmd func(cli.Ui) cli.Command
	args   func(peer *testAgent) []string // after the RPC flags
	ok     *regexp.Regexp                 // success output
	prefix string                         // before ": <agent error>"
}

// clientCommands lists the commands that talk to an agent, leave last
// since it stops the agent.
func clientCommands(agentName string) []clientCommand {
	none := func(*testAgent) []string { return nil }
	exact := func(s string) *regexp.Regexp { return regexp.MustCompile(`^` + regexp.QuoteMeta(s) + `$`) }
	return []clientCommand{
		{"members", named("members"), none, regexp.MustCompile(`^` + agentName + `  `), "Error retrieving members"},
		{"info", named("info"), none, regexp.MustCompile(`^agent:\n\tname = ` + agentName + `\n`), "Error querying agent"},
		{"join", named("join"), func(p *testAgent) []string { return []string{p.Addr} },
			exact("Successfully joined cluster by contacting 1 nodes.\n"), "Error joining the cluster"},
		{"event", named("event"), func(*testAgent) []string { return []string{"deploy", "x"} },
			exact("Event 'deploy' dispatched! Coalescing enabled: true\n"), "Error sending event"},
		{"tags", named("tags"), func(*testAgent) []string { return []string{"-set", "a=b", "-delete", "c"} },
			exact("Successfully updated agent tags\n"), "Error setting tags"},
		{"force-leave", named("force-leave"), func(*testAgent) []string { return []string{"nobody"} },
			exact(""), "Error force leaving"},
		{"leave", named("leave"), none, exact("Graceful leave complete\n"), "Error leaving"},
	}
}

// runOK runs c with the given RPC flags and checks that it succeeds.
func (c clientCommand) runOK(t *testing.T, peer *testAgent, rpcArgs ...string) {
	t.Helper()
	args := append(rpcArgs, c.args(peer)...)
	r := runWithUI(t, c.newCmd, args...)
	if r.code != 0 || r.err != "" || !c.ok.MatchString(r.out) {
		t.Errorf("%s Run(%q) = %d, output %q, error output %q; want 0 and output matching %s",
			c.name, args, r.code, r.out, r.err, c.ok)
	}
}

func TestClientCommandsAuth(t *testing.T) {
	const token = "s3cret"
	a := startTestAgent(t, testAgentOptions{Name: "auth-a", AuthKey: token})
	peer := startTestAgent(t, testAgentOptions{Name: "auth-peer"})
	open := startTestAgent(t, testAgentOptions{Name: "auth-open"})

	for _, c := range clientCommands("auth-a") {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"-rpc-addr=" + a.RPCAddr}, c.args(peer)...)
			runWithUI(t, c.newCmd, args...).check(t, args, failure(c.prefix+": Authentication required"))

			args = append([]string{"-rpc-addr=" + a.RPCAddr, "-rpc-auth=wrong"}, c.args(peer)...)
			runWithUI(t, c.newCmd, args...).check(t, args, failure(badToken))

			// An agent without a token refuses any token.
			args = append([]string{"-rpc-addr=" + open.RPCAddr, "-rpc-auth=" + token}, c.args(peer)...)
			runWithUI(t, c.newCmd, args...).check(t, args, failure(badToken))

			c.runOK(t, peer, "-rpc-addr="+a.RPCAddr, "-rpc-auth="+token)
		})
	}
}

func TestClientCommandsEnvDefaults(t *testing.T) {
	const token = "env-token"
	a := startTestAgent(t, testAgentOptions{Name: "env-a", AuthKey: token})
	peer := startTestAgent(t, testAgentOptions{Name: "env-peer"})
	refused, _ := refusedRPCAddr(t)

	for _, c := range clientCommands("env-a") {
		t.Run(c.name, func(t *testing.T) {
			// The flags win over the environment...
			t.Setenv("SERF_RPC_ADDR", refused)
			t.Setenv("SERF_RPC_AUTH", "wrong")
			if c.name != "leave" {
				c.runOK(t, peer, "-rpc-addr="+a.RPCAddr, "-rpc-auth="+token)
			}
			// ...and an explicitly empty -rpc-auth sends no token.
			args := append([]string{"-rpc-addr=" + a.RPCAddr, "-rpc-auth="}, c.args(peer)...)
			runWithUI(t, c.newCmd, args...).check(t, args, failure(c.prefix+": Authentication required"))

			// Without flags the environment is used.
			t.Setenv("SERF_RPC_ADDR", a.RPCAddr)
			t.Setenv("SERF_RPC_AUTH", token)
			c.runOK(t, peer)
		})
	}
}

func TestClientCommandsDefaultRPCAddr(t *testing.T) {
	t.Setenv("SERF_RPC_ADDR", "")
	t.Setenv("SERF_RPC_AUTH", "")
	f := flagsOf("members")
	addr, auth := f.Lookup("rpc-addr").Value.String(), f.Lookup("rpc-auth").Value.String()
	if addr != "127.0.0.1:7373" || auth != "" {
		t.Errorf("defaults = %q, %q, want %q, %q", addr, auth, "127.0.0.1:7373", "")
	}
}

func TestClientCommandsWithEncryption(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	a := startTestAgent(t, testAgentOptions{Name: "enc-a", Key: key})
	peer := startTestAgent(t, testAgentOptions{Name: "enc-peer", Key: key})

	r := runWithUI(t, named("info"), "-rpc-addr="+a.RPCAddr)
	if !strings.Contains(r.out, "\tencrypted = true\n") {
		t.Errorf("info output = %q, want encrypted = true", r.out)
	}
	for _, c := range clientCommands("enc-a") {
		t.Run(c.name, func(t *testing.T) {
			c.runOK(t, peer, "-rpc-addr="+a.RPCAddr)
			if c.name == "join" {
				waitMemberStatus(t, a, "enc-peer", "alive")
				out := runWithUI(t, named("members"), "-rpc-addr="+a.RPCAddr, "-status=alive").out
				if strings.Count(out, "alive") != 2 {
					t.Errorf("members after an encrypted join = %q, want two alive members", out)
				}
			}
		})
	}
}

// clientCommandHelp describes one command for the help tests.
type clientCommandHelp struct {
	name     string
	newCmd   func(cli.Ui) cli.Command
	flags    *flag.FlagSet // nil: the command has no flags
	usage    string
	synopsis string
}

func clientCommandHelps() []clientCommandHelp {
	return []clientCommandHelp{
		{"members", named("members"), flagsOf("members"),
			"Usage: serf members [options]", "Lists the members of a Serf cluster"},
		{"join", named("join"), flagsOf("join"),
			"Usage: serf join [options] address ...", "Tell Serf agent to join cluster"},
		{"leave", named("leave"), flagsOf("leave"),
			"Usage: serf leave", "Gracefully leaves the Serf cluster and shuts down"},
		{"force-leave", named("force-leave"), flagsOf("force-leave"),
			"Usage: serf force-leave [options] name", `Forces a member of the cluster to enter the "left" state`},
		{"event", named("event"), flagsOf("event"),
			"Usage: serf event [options] name payload", "Send a custom event through the Serf cluster"},
		{"tags", named("tags"), flagsOf("tags"),
			"Usage: serf tags [options] ...", "Modify tags of a running Serf agent"},
		{"keygen", named("keygen"), nil,
			"Usage: serf keygen", "Generates a new encryption key"},
		{"info", named("info"), flagsOf("info"),
			"Usage: serf info [options]", "Provides debugging information for operators"},
		{"query", newQuery, flagsOf("query"),
			"Usage: serf query [options] name payload", "Send a query to the Serf cluster"},
		{"reachability", newReachability, flagsOf("reachability"),
			"Usage: serf reachability [options]", "Test network reachability"},
		{"rtt", named("rtt"), flagsOf("rtt"),
			"Usage: serf rtt [options] node1 [node2]", "Estimates network round trip time between nodes"},
		{"monitor", newMonitor, flagsOf("monitor"),
			"Usage: serf monitor [options]", "Stream logs from a Serf agent"},
		{"keys", named("keys"), flagsOf("keys"),
			"Usage: serf keys [options]...", "Manipulate the internal encryption keyring used by Serf"},
	}
}

func TestClientCommandsHelpListsEveryFlag(t *testing.T) {
	// An option line in the help starts with two spaces and the flag.
	listed := regexp.MustCompile(`(?m)^  -([a-z-]+)`)
	for _, h := range clientCommandHelps() {
		t.Run(h.name, func(t *testing.T) {
			cmd := h.newCmd(nil)
			help := cmd.Help()
			if first, _, _ := strings.Cut(help, "\n"); first != h.usage {
				t.Errorf("Help() starts %q, want %q", first, h.usage)
			}
			if got := cmd.Synopsis(); got != h.synopsis {
				t.Errorf("Synopsis() = %q, want %q", got, h.synopsis)
			}
			if help != strings.TrimSpace(help) {
				t.Errorf("Help() = %q, want no surrounding white space", help)
			}
			inHelp := map[string]bool{}
			for _, m := range listed.FindAllStringSubmatch(help, -1) {
				inHelp[m[1]] = true
			}
			defined := map[string]bool{}
			if h.flags != nil {
				h.flags.VisitAll(func(f *flag.Flag) {
					defined[f.Name] = true
					if !inHelp[f.Name] {
						t.Errorf("Help() does not list -%s", f.Name)
					}
				})
			}
			for name := range inHelp {
				if !defined[name] {
					t.Errorf("Help() lists -%s, which is not a flag", name)
				}
			}
		})
	}
}

func TestClientCommandsFlagErrors(t *testing.T) {
	// The flag package writes its line to os.Stderr; the help goes to
	// the UI's output. Not parallel: os.Stderr is swapped.
	for _, h := range clientCommandHelps() {
		if h.flags == nil {
			continue
		}
		t.Run(h.name, func(t *testing.T) {
			f, err := os.CreateTemp(t.TempDir(), "stderr")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			saved := os.Stderr
			os.Stderr = f
			ui := cli.NewMockUi()
			cmd := h.newCmd(ui)
			code := cmd.Run([]string{"-bogus"})
			os.Stderr = saved
			stderr, err := os.ReadFile(f.Name())
			if err != nil {
				t.Fatal(err)
			}
			got := cmdResult{code: code, out: ui.OutputWriter.String(), err: ui.ErrorWriter.String()}
			got.check(t, []string{"-bogus"}, cmdResult{code: 1, out: cmd.Help() + "\n"})
			if want := "flag provided but not defined: -bogus\n"; string(stderr) != want {
				t.Errorf("stderr = %q, want %q", stderr, want)
			}
		})
	}
}
