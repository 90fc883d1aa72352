package command

import (
	"encoding/json"
	"flag"
	"net"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/cli"
	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/openserf/serf/client"
	"github.com/openserf/serf/internal/wait"
)

// Helpers shared by the tests of query, reachability, rtt, monitor and
// keys.

// deadRPCAddr returns a loopback address nothing listens on, and the
// error a dial to it gives.
func deadRPCAddr(t testing.TB) (addr, connErr string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = l.Addr().String()
	l.Close()
	return addr, "Error connecting to Serf agent: dial tcp " + addr + ": connect: connection refused\n"
}

// mockText returns what a command wrote with Output/Info and with Error.
func mockText(ui *cli.MockUi) (out, errOut string) {
	return ui.OutputWriter.String(), ui.ErrorWriter.String()
}

// waitForOutput waits until the command's Output/Info text matches re.
func waitForOutput(t testing.TB, ui *cli.MockUi, re string) {
	t.Helper()
	rx := regexp.MustCompile(re)
	wait.For(t, 20*time.Second, func() error {
		if !rx.MatchString(ui.OutputWriter.String()) {
			return &outputMismatch{re: re, out: ui.OutputWriter.String()}
		}
		return nil
	})
}

type outputMismatch struct{ re, out string }

func (e *outputMismatch) Error() string { return "output " + e.out + " does not match " + e.re }

// runAsync runs a command's Run in a goroutine; the returned function
// waits for it and returns its exit code.
func runAsync(run func([]string) int, args ...string) (wait func(testing.TB) int) {
	done := make(chan int, 1)
	go func() { done <- run(args) }()
	return func(t testing.TB) int {
		t.Helper()
		select {
		case code := <-done:
			return code
		case <-time.After(30 * time.Second):
			t.Fatal("command did not return")
			return -1
		}
	}
}

// fakeAgent is a scripted RPC server, for what a real agent does not do
// on demand: miss or duplicate acks, never finish a query, hang up.
type fakeAgent struct {
	addr string
	ln   net.Listener
	wg   sync.WaitGroup

	mu    sync.Mutex
	conns []net.Conn
}

// fakeConn is one client connection of a fakeAgent.
type fakeConn struct {
	dec *codec.Decoder
	enc *codec.Encoder
}

// body decodes the body of the request just read.
func (f *fakeConn) body(v any) error { return f.dec.Decode(v) }

// send writes a header and, when body is not nil, a body.
func (f *fakeConn) send(seq uint64, errText string, body any) error {
	if err := f.enc.Encode(&client.ResponseHeader{Seq: seq, Error: errText}); err != nil {
		return err
	}
	if body != nil {
		return f.enc.Encode(body)
	}
	return nil
}

// startFakeAgent serves RPC connections: it answers the handshake and
// passes every other request to handle, which reads the request body,
// replies, and returns false to hang up.
func startFakeAgent(t testing.TB, handle func(fc *fakeConn, h client.RequestHeader) bool) *fakeAgent {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fa := &fakeAgent{addr: ln.Addr().String(), ln: ln}
	fa.wg.Add(1)
	go func() {
		defer fa.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			fa.mu.Lock()
			fa.conns = append(fa.conns, conn)
			fa.mu.Unlock()
			fa.wg.Add(1)
			go func() {
				defer fa.wg.Done()
				defer conn.Close()
				h := client.NewCodecHandle()
				fc := &fakeConn{dec: codec.NewDecoder(conn, h), enc: codec.NewEncoder(conn, h)}
				for {
					var hdr client.RequestHeader
					if err := fc.dec.Decode(&hdr); err != nil {
						return
					}
					if hdr.Command == client.HandshakeCommand {
						var req client.HandshakeRequest
						if fc.body(&req) != nil || fc.send(hdr.Seq, "", nil) != nil {
							return
						}
						continue
					}
					if !handle(fc, hdr) {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		fa.mu.Lock()
		for _, c := range fa.conns {
			c.Close()
		}
		fa.mu.Unlock()
		fa.wg.Wait()
	})
	return fa
}

// queryAgents starts two joined agents, a (role=web) and b (role=db),
// whose "load" query handlers answer "from-a" and "from-b", and whose
// "echo" handlers answer with the query's payload.
func queryAgents(t *testing.T) (a, b *testAgent) {
	t.Helper()
	a = startTestAgent(t, testAgentOptions{
		Name:     "a",
		Tags:     map[string]string{"role": "web"},
		Handlers: []string{"query:load=echo from-a", "query:echo=cat"},
	})
	b = startTestAgent(t, testAgentOptions{
		Name:     "b",
		Tags:     map[string]string{"role": "db"},
		Handlers: []string{"query:load=echo from-b", "query:echo=cat"},
	})
	joinAgents(t, a, b)
	return a, b
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
	dead, connErr := deadRPCAddr(t)
	help := (&QueryCommand{}).Help()
	cases := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"bad tag", []string{"-tag", "role", "q"}, "Error: Invalid tag: 'role'\n"},
		{"bad tag before args", []string{"-tag", "=x"}, "Error: Invalid tag: '=x'\n"},
		{"no name", nil, "A query name must be specified.\n\n" + help + "\n"},
		{"too many args", []string{"q", "p", "x"},
			"Too many command line arguments. Only a name and payload must be specified.\n\n" + help + "\n"},
		{"relay too big", []string{"-relay-factor=256", "q"}, "Relay factor must be between 0 and 255\n"},
		{"relay negative", []string{"-relay-factor=-1", "q"}, "Relay factor must be between 0 and 255\n"},
		{"no agent", []string{"q"}, connErr},
		{"json no name", []string{"-format=json"}, "{\n  \"error\": \"A query name must be specified.\"\n}\n"},
		{"json bad tag", []string{"-format=json", "-tag=x", "q"}, "{\n  \"error\": \"Error: Invalid tag: 'x'\"\n}\n"},
		{"json no agent", []string{"-format=json", "q"},
			"{\n  \"error\": \"" + strings.TrimSuffix(connErr, "\n") + "\"\n}\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ui := cli.NewMockUi()
			c := &QueryCommand{UI: ui}
			code := c.Run(append([]string{"-rpc-addr=" + dead}, tc.args...))
			out, errOut := mockText(ui)
			if code != 1 || out != "" || errOut != tc.wantErr {
				t.Errorf("Run(%q) = %d, output %q, error %q; want 1, \"\", %q", tc.args, code, out, errOut, tc.wantErr)
			}
		})
	}
}

func TestQueryCommandBadFlag(t *testing.T) {
	t.Parallel()
	ui := cli.NewMockUi()
	c := &QueryCommand{UI: ui}
	code := c.Run([]string{"-bogus"})
	out, errOut := mockText(ui)
	if code != 1 || out != c.Help()+"\n" || errOut != "" {
		t.Errorf("Run(-bogus) = %d, output %q, error %q; want 1 and the help", code, out, errOut)
	}
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
			c := &QueryCommand{UI: ui}
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
			c := &QueryCommand{UI: ui}
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
	cases := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"internal name", []string{"-rpc-addr=" + a.RPCAddr, "_serf_x"},
			"Error sending query: Queries cannot contain the '_serf_' prefix\n"},
		{"ping with payload", []string{"-rpc-addr=" + a.RPCAddr, "_serf_ping", "p"},
			"Error sending query: Queries cannot contain the '_serf_' prefix\n"},
		{"too big", []string{"-rpc-addr=" + a.RPCAddr, "q", strings.Repeat("x", 2000)},
			"Error sending query: query exceeds limit of 1024 bytes\n"},
		{"bad format", []string{"-rpc-addr=" + a.RPCAddr, "-format=xml", "q"}, "Invalid format: xml\n"},
		{"json refused", []string{"-rpc-addr=" + a.RPCAddr, "-format=json", "_serf_x"},
			"{\n  \"error\": \"Error sending query: Queries cannot contain the '_serf_' prefix\"\n}\n"},
		{"no token", []string{"-rpc-addr=" + auth.RPCAddr, "q"}, "Error sending query: Authentication required\n"},
		{"wrong token", []string{"-rpc-addr=" + auth.RPCAddr, "-rpc-auth=nope", "q"},
			"Error connecting to Serf agent: Invalid authentication token\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ui := cli.NewMockUi()
			c := &QueryCommand{UI: ui}
			code := c.Run(tc.args)
			out, errOut := mockText(ui)
			if code != 1 || out != "" || errOut != tc.wantErr {
				t.Errorf("Run(%q) = %d, output %q, error %q; want 1, \"\", %q", tc.args, code, out, errOut, tc.wantErr)
			}
		})
	}

	t.Run("right token", func(t *testing.T) {
		ui := cli.NewMockUi()
		c := &QueryCommand{UI: ui}
		args := []string{"-rpc-addr=" + auth.RPCAddr, "-rpc-auth=secret", "-timeout=300ms", "q"}
		code := c.Run(args)
		out, errOut := mockText(ui)
		want := "Query 'q' dispatched\nAck from 'auth'\nTotal Acks: 1\nTotal Responses: 0\n"
		if code != 0 || out != want || errOut != "" {
			t.Errorf("Run(%q) = %d, output %q, error %q; want 0, %q", args, code, out, errOut, want)
		}
	})
}

func TestQueryCommandInterrupt(t *testing.T) {
	t.Parallel()
	a := startTestAgent(t, testAgentOptions{Name: "a"})
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			ui := cli.NewMockUi()
			shutdownCh := make(chan struct{})
			c := &QueryCommand{UI: ui, ShutdownCh: shutdownCh}
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
	fa := startFakeAgent(t, func(fc *fakeConn, h client.RequestHeader) bool {
		var req client.QueryRequest
		if h.Command != client.QueryCommand || fc.body(&req) != nil {
			return false
		}
		_ = fc.send(h.Seq, "", nil)
		_ = fc.send(h.Seq, "", &client.QueryRecord{Type: client.QueryRecordAck, From: "n1"})
		return false // hang up before done
	})
	ui := cli.NewMockUi()
	c := &QueryCommand{UI: ui}
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
	fa := startFakeAgent(t, func(fc *fakeConn, h client.RequestHeader) bool {
		var req client.QueryRequest
		if h.Command != client.QueryCommand || fc.body(&req) != nil {
			return false
		}
		reqCh <- req
		_ = fc.send(h.Seq, "", nil)
		_ = fc.send(h.Seq, "", &client.QueryRecord{Type: client.QueryRecordResponse, From: "n1", Payload: []byte("r\n")})
		_ = fc.send(h.Seq, "", &client.QueryRecord{Type: client.QueryRecordDone})
		return true
	})
	ui := cli.NewMockUi()
	c := &QueryCommand{UI: ui}
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
			return (&QueryCommand{UI: ui}).Run([]string{"-timeout=300ms", "q"})
		}, "Query 'q' dispatched\nAck from 'env'\nTotal Acks: 1\nTotal Responses: 0\n"},
		{"rtt", func(ui cli.Ui) int {
			return (&RTTCommand{UI: ui}).Run([]string{"env", "env"})
		}, "Estimated env <-> env rtt: 0.020 ms\n"},
		{"keys", func(ui cli.Ui) int {
			return (&KeysCommand{UI: ui}).Run([]string{"-list"})
		}, "==> Asking all members for installed keys...\n"},
		{"reachability", func(ui cli.Ui) int {
			return (&ReachabilityCommand{UI: ui}).Run(nil)
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
		code := (&RTTCommand{UI: ui}).Run([]string{"envauth"})
		out, errOut := mockText(ui)
		want := "Estimated envauth <-> envauth rtt: 0.020 ms\n"
		if code != 0 || out != want {
			t.Errorf("rtt with SERF_RPC_AUTH = %d, output %q, error %q; want 0, %q", code, out, errOut, want)
		}
	})
}

// TestStreamCommandsHelpListFlags checks that the help of query,
// reachability, rtt, monitor and keys names every flag they define.
func TestStreamCommandsHelpListFlags(t *testing.T) {
	cases := []struct {
		name  string
		help  string
		flags *flag.FlagSet
	}{
		{"query", (&QueryCommand{}).Help(), (&QueryCommand{}).flags(&queryOptions{})},
		{"reachability", (&ReachabilityCommand{}).Help(), (&ReachabilityCommand{}).flags(&reachabilityOptions{})},
		{"rtt", (&RTTCommand{}).Help(), (&RTTCommand{}).flags(&rttOptions{})},
		{"monitor", (&MonitorCommand{}).Help(), (&MonitorCommand{}).flags(&monitorOptions{})},
		{"keys", (&KeysCommand{}).Help(), (&KeysCommand{}).flags(&keysOptions{})},
	}
	for _, tc := range cases {
		n := 0
		tc.flags.VisitAll(func(f *flag.Flag) {
			n++
			if !regexp.MustCompile(`(?m)^  -` + regexp.QuoteMeta(f.Name) + `\b`).MatchString(tc.help) {
				t.Errorf("%s help does not list -%s", tc.name, f.Name)
			}
		})
		if n < 2 {
			t.Errorf("%s defines %d flags, want at least -rpc-addr and -rpc-auth", tc.name, n)
		}
		if !strings.HasPrefix(tc.help, "Usage: serf "+tc.name+" [options]") {
			t.Errorf("%s help starts %q, want the usage line", tc.name, strings.SplitN(tc.help, "\n", 2)[0])
		}
	}
}

func TestStreamCommandsSynopsis(t *testing.T) {
	cases := []struct {
		cmd  cli.Command
		want string
	}{
		{&QueryCommand{}, "Send a query to the Serf cluster"},
		{&ReachabilityCommand{}, "Test network reachability"},
		{&RTTCommand{}, "Estimates network round trip time between nodes"},
		{&MonitorCommand{}, "Stream logs from a Serf agent"},
		{&KeysCommand{}, "Manipulate the internal encryption keyring used by Serf"},
	}
	for _, tc := range cases {
		if got := tc.cmd.Synopsis(); got != tc.want {
			t.Errorf("%T.Synopsis() = %q, want %q", tc.cmd, got, tc.want)
		}
	}
}
