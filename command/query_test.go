package command

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/cli"
	"github.com/openserf/serf/client"
)

// queryAgents starts two joined agents, a (role=web) and b (role=db),
// whose "load" query handlers answer "from-a" and "from-b", and whose
// "echo" handlers answer with the query's payload.
func queryAgents(t *testing.T) (a, b *testAgent) {
	t.Helper()
	return startPair(t, testAgentOptions{
		Name:     "a",
		Tags:     map[string]string{"role": "web"},
		Handlers: []string{"query:load=echo from-a", "query:echo=cat"},
	}, testAgentOptions{
		Name:     "b",
		Tags:     map[string]string{"role": "db"},
		Handlers: []string{"query:load=echo from-b", "query:echo=cat"},
	})
}

// sortedLines sorts the lines of s between the first and the last, which
// are kept in place: acks and responses of several nodes arrive in any
// order.
func sortedLines(s string) []string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if len(lines) > 2 {
		sort.Strings(lines[1 : len(lines)-2])
	}
	return lines
}

func TestQueryCommandUsageErrors(t *testing.T) {
	t.Parallel()
	dead, connErr := refusedRPCAddr(t)
	help := helpOf("query")
	// With -format=json a failure is a JSON object, printed as an error.
	jsonErr := func(msg string) cmdResult { return cmdResult{code: 1, err: jsonFailure(msg)} }
	runCases(t, newQuery, []string{"-rpc-addr=" + dead}, []cmdCase{
		{"bad tag", []string{"-tag", "role", "q"}, failure("Error: Invalid tag: 'role'")},
		{"bad tag before args", []string{"-tag", "=x"}, failure("Error: Invalid tag: '=x'")},
		{"no name", nil, usage("A query name must be specified.", help)},
		{"too many args", []string{"q", "p", "x"},
			usage("Too many command line arguments. Only a name and payload must be specified.", help)},
		{"relay too big", []string{"-relay-factor=256", "q"}, failure("Relay factor must be between 0 and 255")},
		{"relay negative", []string{"-relay-factor=-1", "q"}, failure("Relay factor must be between 0 and 255")},
		{"no agent", []string{"q"}, failure(connErr)},
		{"json no name", []string{"-format=json"}, jsonErr("A query name must be specified.")},
		{"json bad tag", []string{"-format=json", "-tag=x", "q"}, jsonErr("Error: Invalid tag: 'x'")},
		{"json no agent", []string{"-format=json", "q"}, jsonErr(connErr)},
	})
}

func TestQueryCommand(t *testing.T) {
	t.Parallel()
	a, _ := queryAgents(t)
	cases := []struct {
		name string
		args []string
		want []string // lines, those between the first and the last two sorted
	}{
		{"all nodes", []string{"load"}, []string{
			"Query 'load' dispatched",
			"Ack from 'a'", "Ack from 'b'",
			"Response from 'a': from-a", "Response from 'b': from-b",
			"Total Acks: 2", "Total Responses: 2",
		}},
		{"node filter", []string{"-node=b", "load"}, []string{
			"Query 'load' dispatched",
			"Ack from 'b'", "Response from 'b': from-b",
			"Total Acks: 1", "Total Responses: 1",
		}},
		{"repeated node filter", []string{"-node=b", "-node", "a", "load"}, []string{
			"Query 'load' dispatched",
			"Ack from 'a'", "Ack from 'b'",
			"Response from 'a': from-a", "Response from 'b': from-b",
			"Total Acks: 2", "Total Responses: 2",
		}},
		{"tag filter", []string{"-tag", "role=w.b", "load"}, []string{
			"Query 'load' dispatched",
			"Ack from 'a'", "Response from 'a': from-a",
			"Total Acks: 1", "Total Responses: 1",
		}},
		{"tag filter, last value wins", []string{"-tag", "role=w.b", "-tag", "role=db", "load"}, []string{
			"Query 'load' dispatched",
			"Ack from 'b'", "Response from 'b': from-b",
			"Total Acks: 1", "Total Responses: 1",
		}},
		{"tag filter without match", []string{"-tag", "role=.*", "-tag", "dc=x", "load"}, []string{
			"Query 'load' dispatched",
			"Total Acks: 0", "Total Responses: 0",
		}},
		{"no ack", []string{"-no-ack", "-node=a", "load"}, []string{
			"Query 'load' dispatched",
			"Response from 'a': from-a",
			"Total Responses: 1",
		}},
		// One trailing newline of a response is dropped: cat echoes the
		// payload "x\n\n", which prints as "x\n".
		{"payload", []string{"-node=a", "-relay-factor=2", "echo", "x\n\n"}, []string{
			"Query 'echo' dispatched",
			"Ack from 'a'", "Response from 'a': x", "",
			"Total Acks: 1", "Total Responses: 1",
		}},
		{"no handler", []string{"-node=b", "other"}, []string{
			"Query 'other' dispatched",
			"Ack from 'b'",
			"Total Acks: 1", "Total Responses: 0",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ui := cli.NewMockUi()
			c := build(ui, "query", nil)
			args := append([]string{"-rpc-addr=" + a.RPCAddr, "-timeout=1s"}, tc.args...)
			code := c.Run(args)
			out, errOut := mockText(ui)
			if code != 0 || errOut != "" {
				t.Fatalf("Run(%q) = %d, error %q; want 0, \"\"", args, code, errOut)
			}
			got := sortedLines(out)
			if tc.name == "payload" {
				got = strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Run(%q) output = %q, want lines %q", args, out, tc.want)
			}
		})
	}
}

func TestQueryCommandJSON(t *testing.T) {
	t.Parallel()
	a, _ := queryAgents(t)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"all", []string{"load"}, `{"Acks":["a","b"],"Responses":{"a":"from-a\n","b":"from-b\n"}}`},
		{"no ack", []string{"-no-ack", "load"}, `{"Acks":null,"Responses":{"a":"from-a\n","b":"from-b\n"}}`},
		{"nobody", []string{"-node=nobody", "load"}, `{"Acks":null,"Responses":{}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ui := cli.NewMockUi()
			c := build(ui, "query", nil)
			args := append([]string{"-rpc-addr=" + a.RPCAddr, "-timeout=1s", "-format=json"}, tc.args...)
			code := c.Run(args)
			out, errOut := mockText(ui)
			if code != 0 || errOut != "" {
				t.Fatalf("Run(%q) = %d, error %q; want 0, \"\"", args, code, errOut)
			}
			var res struct {
				Acks      []string
				Responses map[string]string
			}
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("output %q is not JSON: %v", out, err)
			}
			sort.Strings(res.Acks)
			got, _ := json.Marshal(res)
			if string(got) != tc.want {
				t.Errorf("Run(%q) = %s, want %s", args, got, tc.want)
			}
			if !strings.HasPrefix(out, "{\n  \"Acks\": ") || !strings.HasSuffix(out, "\n}\n") {
				t.Errorf("Run(%q) output %q is not indented by two spaces", args, out)
			}
		})
	}
}

func TestQueryCommandAgentErrors(t *testing.T) {
	t.Parallel()
	a := startTestAgent(t, testAgentOptions{Name: "a"})
	auth := startTestAgent(t, testAgentOptions{Name: "auth", AuthKey: "secret"})
	const reserved = "Error sending query: Queries cannot contain the '_serf_' prefix"
	runCases(t, newQuery, nil, []cmdCase{
		{"internal name", []string{"-rpc-addr=" + a.RPCAddr, "_serf_x"}, failure(reserved)},
		{"ping with payload", []string{"-rpc-addr=" + a.RPCAddr, "_serf_ping", "p"}, failure(reserved)},
		{"too big", []string{"-rpc-addr=" + a.RPCAddr, "q", strings.Repeat("x", 2000)},
			failure("Error sending query: query exceeds limit of 1024 bytes")},
		{"bad format", []string{"-rpc-addr=" + a.RPCAddr, "-format=xml", "q"}, failure("Invalid format: xml")},
		{"json refused", []string{"-rpc-addr=" + a.RPCAddr, "-format=json", "_serf_x"},
			cmdResult{code: 1, err: jsonFailure(reserved)}},
		{"no token", []string{"-rpc-addr=" + auth.RPCAddr, "q"}, failure("Error sending query: Authentication required")},
		{"wrong token", []string{"-rpc-addr=" + auth.RPCAddr, "-rpc-auth=nope", "q"}, failure(badToken)},
		{"right token", []string{"-rpc-addr=" + auth.RPCAddr, "-rpc-auth=secret", "-timeout=300ms", "q"},
			cmdResult{out: "Query 'q' dispatched\nAck from 'auth'\nTotal Acks: 1\nTotal Responses: 0\n"}},
	})
}

func TestQueryCommandInterrupt(t *testing.T) {
	t.Parallel()
	a := startTestAgent(t, testAgentOptions{Name: "a"})
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			ui := cli.NewMockUi()
			shutdownCh := make(chan struct{})
			c := build(ui, "query", shutdownCh)
			wait := runAsync(c.Run, "-rpc-addr="+a.RPCAddr, "-timeout=1m", "-format="+format, "q")
			// Nothing is printed in JSON before the end, but the
			// interrupt is only looked at once the query is sent.
			if format == "text" {
				waitForOutput(t, ui, "Ack from 'a'\n")
			}
			close(shutdownCh)
			code := wait(t)
			out, errOut := mockText(ui)
			wantOut, wantErr := "Query 'q' dispatched\nAck from 'a'\n", ""
			if format == "json" {
				wantOut, wantErr = "", "{\n  \"error\": \"Query interrupted\"\n}\n"
			}
			if code != 1 || out != wantOut || errOut != wantErr {
				t.Errorf("interrupted Run = %d, output %q, error %q; want 1, %q, %q", code, out, errOut, wantOut, wantErr)
			}
		})
	}
}

func TestQueryCommandConnectionLost(t *testing.T) {
	t.Parallel()
	fa := startFakeAgent(t, answer(client.QueryCommand, func(fc *fakeConn, seq uint64, _ *client.QueryRequest) bool {
		_ = fc.send(seq, "", nil)
		_ = fc.send(seq, "", &client.QueryRecord{Type: client.QueryRecordAck, From: "n1"})
		return false // hang up before done
	}))
	ui := cli.NewMockUi()
	c := build(ui, "query", nil)
	code := c.Run([]string{"-rpc-addr=" + fa.addr, "q"})
	out, errOut := mockText(ui)
	wantOut := "Query 'q' dispatched\nAck from 'n1'\n"
	wantErr := "Error receiving query results: connection to the Serf agent was lost\n"
	if code != 1 || out != wantOut || errOut != wantErr {
		t.Errorf("Run = %d, output %q, error %q; want 1, %q, %q", code, out, errOut, wantOut, wantErr)
	}
}

func TestQueryCommandRequest(t *testing.T) {
	t.Parallel()
	reqCh := make(chan client.QueryRequest, 1)
	fa := startFakeAgent(t, answer(client.QueryCommand, func(fc *fakeConn, seq uint64, req *client.QueryRequest) bool {
		reqCh <- *req
		_ = fc.send(seq, "", nil)
		_ = fc.send(seq, "", &client.QueryRecord{Type: client.QueryRecordResponse, From: "n1", Payload: []byte("r\n")})
		_ = fc.send(seq, "", &client.QueryRecord{Type: client.QueryRecordDone})
		return true
	}))
	ui := cli.NewMockUi()
	c := build(ui, "query", nil)
	args := []string{"-rpc-addr=" + fa.addr, "-node=n1", "-node=n2", "-tag", "role=web", "-tag=dc=x=y",
		"-timeout=3s", "-no-ack", "-relay-factor=255", "deploy", "v1"}
	code := c.Run(args)
	out, errOut := mockText(ui)
	wantOut := "Query 'deploy' dispatched\nResponse from 'n1': r\nTotal Responses: 1\n"
	if code != 0 || out != wantOut || errOut != "" {
		t.Errorf("Run(%q) = %d, output %q, error %q; want 0, %q", args, code, out, errOut, wantOut)
	}
	want := client.QueryRequest{
		FilterNodes: []string{"n1", "n2"},
		FilterTags:  map[string]string{"role": "web", "dc": "x=y"},
		RequestAck:  false,
		RelayFactor: 255,
		Timeout:     3 * time.Second,
		Name:        "deploy",
		Payload:     []byte("v1"),
	}
	if got := <-reqCh; !reflect.DeepEqual(got, want) {
		t.Errorf("query request = %+v, want %+v", got, want)
	}
}

func TestQueryCommandEnvAddr(t *testing.T) {
	a := startTestAgent(t, testAgentOptions{Name: "env"})
	t.Setenv("SERF_RPC_ADDR", a.RPCAddr)
	t.Setenv("SERF_RPC_AUTH", "")
	cmds := []struct {
		name string
		run  func(ui cli.Ui) int
		want string
	}{
		{"query", func(ui cli.Ui) int {
			return build(ui, "query", nil).Run([]string{"-timeout=300ms", "q"})
		}, "Query 'q' dispatched\nAck from 'env'\nTotal Acks: 1\nTotal Responses: 0\n"},
		{"rtt", func(ui cli.Ui) int {
			return build(ui, "rtt", nil).Run([]string{"env", "env"})
		}, "Estimated env <-> env rtt: 0.020 ms\n"},
		{"keys", func(ui cli.Ui) int {
			return build(ui, "keys", nil).Run([]string{"-list"})
		}, "==> Asking all members for installed keys...\n"},
		{"reachability", func(ui cli.Ui) int {
			return build(ui, "reachability", nil).Run(nil)
		}, "Total members: 1, live members: 1\nStarting reachability test...\nSuccessfully contacted all live nodes\n"},
	}
	for _, tc := range cmds {
		t.Run(tc.name, func(t *testing.T) {
			ui := cli.NewMockUi()
			tc.run(ui)
			if out, errOut := mockText(ui); out != tc.want {
				t.Errorf("%s with SERF_RPC_ADDR: output %q, error %q; want output %q", tc.name, out, errOut, tc.want)
			}
		})
	}

	t.Run("auth from env", func(t *testing.T) {
		b := startTestAgent(t, testAgentOptions{Name: "envauth", AuthKey: "tok"})
		t.Setenv("SERF_RPC_ADDR", b.RPCAddr)
		t.Setenv("SERF_RPC_AUTH", "tok")
		ui := cli.NewMockUi()
		code := build(ui, "rtt", nil).Run([]string{"envauth"})
		out, errOut := mockText(ui)
		want := "Estimated envauth <-> envauth rtt: 0.020 ms\n"
		if code != 0 || out != want {
			t.Errorf("rtt with SERF_RPC_AUTH = %d, output %q, error %q; want 0, %q", code, out, errOut, want)
		}
	})
}
