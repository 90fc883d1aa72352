package agent

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/openserf/serf/client"
	"github.com/openserf/serf/internal/testutil/cluster"
	"github.com/openserf/serf/internal/testutil/oracle"
	"github.com/openserf/serf/internal/testutil/wait"
)

// apiNode is one agent of an HTTP API test and how to reach its API.
type apiNode struct {
	agent *Agent
	logs  *cluster.SafeBuffer
	base  string // "http://host:port", "https://..." or "http://serf" (unix)
	c     *http.Client
	token string
}

// do sends one request; body is sent as is ("" for none).
func (n *apiNode) do(t *testing.T, method, path, body string) (int, []byte) {
	t.Helper()
	return n.doWith(t, method, path, body, n.token)
}

func (n *apiNode) doWith(t *testing.T, method, path, body, token string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, n.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := n.c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the reply: %v", method, path, err)
	}
	return resp.StatusCode, b
}

// json sends a request and decodes a 200 reply into out.
func (n *apiNode) json(t *testing.T, method, path, body string, out any) {
	t.Helper()
	code, b := n.do(t, method, path, body)
	if code != http.StatusOK {
		t.Fatalf("%s %s = %d %s, want 200", method, path, code, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

// stream opens a streaming request and returns a reader of its lines;
// the request ends at cleanup.
func (n *apiNode) stream(t *testing.T, method, path, accept string) (*bufio.Scanner, *http.Response) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, method, n.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n.token != "" {
		req.Header.Set("Authorization", "Bearer "+n.token)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := n.c.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("%s %s: %v", method, path, err)
	}
	t.Cleanup(func() {
		cancel()
		resp.Body.Close()
	})
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s = %d %s", method, path, resp.StatusCode, b)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	return sc, resp
}

// apiTransport is how a test reaches the agents' HTTP APIs.
type apiTransport struct {
	name  string
	token string
	edit  func(c *Config)                                  // sets http_addr and friends
	dial  func(a *Agent, c *Config) (string, *http.Client) // the base URL and a client
}

func tcpTransport(t *testing.T, token string) apiTransport {
	return apiTransport{
		name:  "tcp",
		token: token,
		edit:  func(c *Config) { c.HTTPAddr, c.HTTPAuth = oracle.FreeAddr(t, cluster.IP()), token },
		dial: func(a *Agent, _ *Config) (string, *http.Client) {
			return "http://" + a.HTTPAddr().String(), &http.Client{Transport: &http.Transport{}}
		},
	}
}

// tlsTransport gives every agent the same certificate, for 127.0.0.0/8.
func tlsTransport(t *testing.T) apiTransport {
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	return apiTransport{
		name: "tls",
		edit: func(c *Config) {
			c.HTTPAddr, c.HTTPTLSCertFile, c.HTTPTLSKeyFile = oracle.FreeAddr(t, cluster.IP()), certFile, keyFile
		},
		dial: func(a *Agent, _ *Config) (string, *http.Client) {
			tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
			return "https://" + a.HTTPAddr().String(), &http.Client{Transport: tr}
		},
	}
}

func unixTransport(t *testing.T) apiTransport {
	dir := t.TempDir()
	n := 0
	return apiTransport{
		name: "unix",
		edit: func(c *Config) {
			n++
			c.HTTPAddr = "unix://" + filepath.Join(dir, fmt.Sprintf("serf%d.sock", n))
		},
		dial: func(_ *Agent, c *Config) (string, *http.Client) {
			sock := strings.TrimPrefix(c.HTTPAddr, "unix://")
			return "http://serf", &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, "unix", sock)
			}}}
		},
	}
}

// apiCluster starts n agents serving HTTP over tr, joined into one
// cluster, each ready and seeing all n alive.
func apiCluster(t *testing.T, tr apiTransport, n int, edit func(*Config)) []*apiNode {
	t.Helper()
	var nodes []*apiNode
	for i := range n {
		conf := daemonConfig(t, fmt.Sprintf("node%d", i+1), func(c *Config) {
			tr.edit(c)
			if edit != nil {
				edit(c)
			}
		})
		a, logs := startDaemon(t, conf)
		a.Ready()
		base, c := tr.dial(a, conf)
		nodes = append(nodes, &apiNode{agent: a, logs: logs, base: base, c: c, token: tr.token})
		if i > 0 {
			if _, err := a.Join([]string{nodes[0].agent.BindAddr().String()}, false); err != nil {
				t.Fatalf("join: %v", err)
			}
		}
	}
	for _, nd := range nodes {
		wait.For(t, 10*time.Second, func() error {
			if got := aliveCount(nd.agent); got != n {
				return fmt.Errorf("%s sees %d alive, want %d", nd.agent.Serf().LocalMember().Name, got, n)
			}
			return nil
		})
	}
	return nodes
}

func aliveCount(a *Agent) int {
	n := 0
	for _, m := range a.Serf().Members() {
		if m.Status.String() == "alive" {
			n++
		}
	}
	return n
}

// names lists the members' names, sorted.
func names(ms []client.Member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name)
	}
	slices.Sort(out)
	return out
}

// query runs a query stream to its end and returns the acks (sorted),
// each responder's payload, and whether the "done" record came.
func (n *apiNode) query(t *testing.T, path string) (acks []string, responses map[string]string, done bool) {
	t.Helper()
	sc, _ := n.stream(t, "POST", path, "")
	responses = map[string]string{}
	for sc.Scan() {
		var rec client.QueryRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("%v in %s", err, sc.Bytes())
		}
		switch rec.Type {
		case "ack":
			acks = append(acks, rec.From)
		case "response":
			responses[rec.From] = string(rec.Payload)
		case "done":
			done = true
		}
	}
	slices.Sort(acks)
	return acks, responses, done
}

// waitMembers waits until GET /v1/members?query lists exactly want.
func (n *apiNode) waitMembers(t *testing.T, query string, want ...string) {
	t.Helper()
	wait.For(t, 10*time.Second, func() error {
		var ms client.MembersResponse
		n.json(t, "GET", "/v1/members?"+query, "", &ms)
		if got := names(ms.Members); !slices.Equal(got, want) {
			return fmt.Errorf("members?%s = %v, want %v", query, got, want)
		}
		return nil
	})
}

// Every endpoint, on a three-agent cluster: over TCP with a token, over
// TLS and over a unix socket.
func TestHTTPAPIEndpoints(t *testing.T) {
	for _, tr := range []apiTransport{tcpTransport(t, "s3cret"), tlsTransport(t), unixTransport(t)} {
		t.Run(tr.name, func(t *testing.T) { testEndpoints(t, tr) })
	}
}

func testEndpoints(t *testing.T, tr apiTransport) {
	nodes := apiCluster(t, tr, 3, func(c *Config) {
		c.Tags = map[string]string{"role": "web"}
		c.EventHandlers = []string{"query:who=echo here"}
	})
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]

	t.Run("members", func(t *testing.T) {
		var all client.MembersResponse
		n1.json(t, "GET", "/v1/members", "", &all)
		if got := names(all.Members); !slices.Equal(got, []string{"node1", "node2", "node3"}) {
			t.Errorf("members = %v", got)
		}
		for _, m := range all.Members {
			if m.Status != "alive" || m.Tags["role"] != "web" || m.Addr == nil || m.Port == 0 {
				t.Errorf("member %+v", m)
			}
		}
		var some client.MembersResponse
		n1.json(t, "GET", "/v1/members?name=node[12]&status=alive&tag=role=w.b", "", &some)
		if got := names(some.Members); !slices.Equal(got, []string{"node1", "node2"}) {
			t.Errorf("filtered members = %v, want node1 node2", got)
		}
		var none client.MembersResponse
		n1.json(t, "GET", "/v1/members?tag=role=db", "", &none)
		if len(none.Members) != 0 {
			t.Errorf("members with role=db = %v, want none", names(none.Members))
		}
	})

	t.Run("agent", func(t *testing.T) {
		var info agentInfo
		n2.json(t, "GET", "/v1/agent", "", &info)
		if info.Member.Name != "node2" || info.Stats["agent"]["name"] != "node2" || info.Stats["serf"]["members"] != "3" {
			t.Errorf("agent = %+v", info)
		}
	})

	t.Run("tags", func(t *testing.T) {
		var reply tagsReply
		n3.json(t, "POST", "/v1/agent/tags", `{"Tags":{"dc":"east"},"DeleteTags":["role"]}`, &reply)
		if len(reply.Tags) != 1 || reply.Tags["dc"] != "east" {
			t.Errorf("tags reply = %v, want dc=east only", reply.Tags)
		}
		n3.json(t, "GET", "/v1/agent/tags", "", &reply)
		if reply.Tags["dc"] != "east" {
			t.Errorf("GET tags = %v", reply.Tags)
		}
		n1.waitMembers(t, "tag=dc=east", "node3")
	})

	t.Run("event", func(t *testing.T) {
		sc, resp := n2.stream(t, "GET", "/v1/events?type=user:deploy", "")
		if ct := resp.Header.Get("Content-Type"); ct != "application/x-ndjson" {
			t.Errorf("events Content-Type = %q", ct)
		}
		n1.json(t, "POST", "/v1/event/deploy?coalesce=false", "v1.2", nil)
		if !sc.Scan() {
			t.Fatalf("event stream ended: %v", sc.Err())
		}
		var rec client.UserEventRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("%v in %s", err, sc.Bytes())
		}
		if rec.Event != "user" || rec.Name != "deploy" || string(rec.Payload) != "v1.2" || rec.Coalesce {
			t.Errorf("event record = %+v", rec)
		}
	})

	t.Run("query", func(t *testing.T) {
		acks, responses, done := n1.query(t, "/v1/query/ping?timeout=3s")
		if !done || !slices.Equal(acks, []string{"node1", "node2", "node3"}) || len(responses) != 0 {
			t.Errorf("query: acks %v, responses %v, done %v; want three acks, no responses, done", acks, responses, done)
		}
	})

	t.Run("query answered by all", func(t *testing.T) {
		// Every member answers, so the stream ends long before the
		// timeout, with what the whole wait would have shown.
		start := time.Now()
		acks, responses, done := n2.query(t, "/v1/query/who?timeout=30s")
		if took := time.Since(start); took > 20*time.Second {
			t.Errorf("the query stream took %v; it should end once all answered", took)
		}
		want := []string{"node1", "node2", "node3"}
		if !done || !slices.Equal(acks, want) || len(responses) != 3 {
			t.Errorf("acks %v, responses %v, done %v; want all three of each and done", acks, responses, done)
		}
		for from, payload := range responses {
			if payload != "here\n" {
				t.Errorf("response from %s = %q", from, payload)
			}
		}
	})

	t.Run("coordinates", func(t *testing.T) {
		wait.For(t, 10*time.Second, func() error {
			var reply struct{ Coordinates []nodeCoordinate }
			n1.json(t, "GET", "/v1/coordinates", "", &reply)
			var got []string
			for _, c := range reply.Coordinates {
				if c.Coord == nil || len(c.Coord.Vec) == 0 {
					return fmt.Errorf("empty coordinate for %s", c.Node)
				}
				got = append(got, c.Node)
			}
			if !slices.Equal(got, []string{"node1", "node2", "node3"}) {
				return fmt.Errorf("coordinates of %v", got)
			}
			return nil
		})
		var one nodeCoordinate
		n1.json(t, "GET", "/v1/coordinates/node2", "", &one)
		if one.Node != "node2" || one.Coord == nil {
			t.Errorf("coordinate of node2 = %+v", one)
		}
		var rtt rttReply
		n1.json(t, "GET", "/v1/rtt/node2", "", &rtt)
		if rtt.A != "node2" || rtt.B != "node1" || rtt.Milliseconds <= 0 || rtt.RTT == "" {
			t.Errorf("rtt node2 = %+v", rtt)
		}
		n1.json(t, "GET", "/v1/rtt/node2/node3", "", &rtt)
		if rtt.A != "node2" || rtt.B != "node3" {
			t.Errorf("rtt node2 node3 = %+v", rtt)
		}
	})

	t.Run("monitor", func(t *testing.T) {
		sc, _ := n1.stream(t, "GET", "/v1/monitor?level=debug", "")
		if !sc.Scan() || !strings.Contains(sc.Text(), "[") {
			t.Fatalf("monitor line %q, %v", sc.Text(), sc.Err())
		}
		js, resp := n1.stream(t, "GET", "/v1/monitor?level=info&json=true", "")
		if ct := resp.Header.Get("Content-Type"); ct != "application/x-ndjson" {
			t.Errorf("JSON monitor Content-Type = %q", ct)
		}
		if !js.Scan() {
			t.Fatalf("JSON monitor ended: %v", js.Err())
		}
		var line map[string]string
		if err := json.Unmarshal(js.Bytes(), &line); err != nil || line["@level"] == "" || line["@message"] == "" {
			t.Errorf("JSON monitor line %s: %v", js.Bytes(), err)
		}
	})

	t.Run("keys without encryption", func(t *testing.T) {
		code, b := n1.do(t, "GET", "/v1/keys", "")
		if code != http.StatusInternalServerError || !bytes.Contains(b, []byte(`"error"`)) || !bytes.Contains(b, []byte(`"NumNodes":3`)) {
			t.Errorf("GET /v1/keys = %d %s; want 500 with the per-node answers", code, b)
		}
	})

	t.Run("join and force-leave", func(t *testing.T) {
		var jr client.JoinResponse
		n3.json(t, "POST", "/v1/agent/join", fmt.Sprintf(`{"Existing":[%q]}`, n2.agent.BindAddr().String()), &jr)
		if jr.Num != 1 {
			t.Errorf("join = %+v, want Num 1", jr)
		}
		code, b := n3.do(t, "POST", "/v1/agent/join", `{"Existing":["127.0.0.1:1"]}`)
		if code != 500 || !bytes.Contains(b, []byte(`"Num":0`)) {
			t.Errorf("join to nowhere = %d %s, want 500 with Num 0", code, b)
		}
		code, b = n1.do(t, "POST", "/v1/agent/force-leave", `{"Node":"nobody"}`)
		if code != 404 {
			t.Errorf("force-leave of nobody = %d %s, want 404", code, b)
		}
		n1.json(t, "POST", "/v1/agent/force-leave", `{"Node":"node3","Prune":false}`, nil)
	})

	t.Run("leave", func(t *testing.T) {
		n3.json(t, "POST", "/v1/agent/leave", "", nil)
		select {
		case <-n3.agent.ShutdownCh():
		case <-time.After(10 * time.Second):
			t.Fatal("the agent did not stop after an HTTP leave")
		}
		n1.waitMembers(t, "status=left", "node3")
	})
}

// With a token, every endpoint but the health checks answers 401 without
// it and does nothing.
func TestHTTPAPINeedsToken(t *testing.T) {
	nodes := apiCluster(t, tcpTransport(t, "s3cret"), 1, nil)
	n := nodes[0]
	for _, ep := range []struct{ method, path, body string }{
		{"GET", "/v1/members", ""},
		{"GET", "/v1/agent", ""},
		{"POST", "/v1/agent/join", `{"Existing":["127.0.0.1:1"]}`},
		{"POST", "/v1/agent/leave", ""},
		{"POST", "/v1/agent/force-leave", `{"Node":"node1"}`},
		{"GET", "/v1/agent/tags", ""},
		{"POST", "/v1/agent/tags", `{"Tags":{"x":"y"}}`},
		{"POST", "/v1/event/e", ""},
		{"GET", "/v1/keys", ""},
		{"POST", "/v1/keys/install", `{"Key":"x"}`},
		{"GET", "/v1/coordinates", ""},
		{"GET", "/v1/coordinates/node1", ""},
		{"GET", "/v1/rtt/node1", ""},
		{"POST", "/v1/query/q", ""},
		{"GET", "/v1/events", ""},
		{"GET", "/v1/monitor", ""},
		{"GET", "/metrics", ""},
	} {
		for _, token := range []string{"", "wrong"} {
			code, b := n.doWith(t, ep.method, ep.path, ep.body, token)
			if code != http.StatusUnauthorized || !bytes.Contains(b, []byte(`"error":"authentication required"`)) {
				t.Errorf("%s %s with token %q = %d %s, want 401", ep.method, ep.path, token, code, b)
			}
		}
	}
	if tags := n.agent.Serf().LocalMember().Tags; tags["x"] != "" {
		t.Errorf("tags were set without the token: %v", tags)
	}
	if n.agent.Readiness() != "" {
		t.Errorf("the agent is %q after the refused requests", n.agent.Readiness())
	}
	var ms client.MembersResponse
	n.json(t, "GET", "/v1/members", "", &ms)
	if len(ms.Members) != 1 {
		t.Errorf("members with the token = %v", names(ms.Members))
	}
}

// TLS and a unix socket carry the same API, streams included.
func TestHTTPAPITransports(t *testing.T) {
	for _, tr := range []apiTransport{tlsTransport(t), unixTransport(t)} {
		t.Run(tr.name, func(t *testing.T) {
			nodes := apiCluster(t, tr, 3, nil)
			var ms client.MembersResponse
			nodes[2].json(t, "GET", "/v1/members", "", &ms)
			if len(ms.Members) != 3 {
				t.Errorf("members = %v", names(ms.Members))
			}
			sc, resp := nodes[1].stream(t, "GET", "/v1/events?type=user", "text/event-stream")
			if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
				t.Errorf("Content-Type = %q, want text/event-stream", ct)
			}
			nodes[0].json(t, "POST", "/v1/event/hello", "world", nil)
			var kind, data string
			for sc.Scan() && (kind == "" || data == "") {
				if v, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
					kind = v
				}
				if v, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
					data = v
				}
			}
			var rec client.UserEventRecord
			if err := json.Unmarshal([]byte(data), &rec); kind != "user" || err != nil || rec.Name != "hello" || string(rec.Payload) != "world" {
				t.Errorf("SSE event %q data %q (%v)", kind, data, err)
			}
			qs, _ := nodes[2].stream(t, "POST", "/v1/query/who?timeout=500ms&node="+nodes[0].agent.Serf().LocalMember().Name, "text/event-stream")
			var events []string
			for qs.Scan() {
				if v, ok := strings.CutPrefix(qs.Text(), "event: "); ok {
					events = append(events, v)
				}
			}
			if !slices.Equal(events, []string{"ack", "done"}) {
				t.Errorf("query SSE events = %v, want ack done", events)
			}
		})
	}
}

// Bad requests get a 4xx with a JSON error and change nothing; the agent
// keeps serving.
func TestHTTPAPIBadInput(t *testing.T) {
	nodes := apiCluster(t, tcpTransport(t, ""), 1, nil)
	n := nodes[0]
	big := strings.Repeat("x", maxBodyBytes+1)
	for _, tc := range []struct {
		method, path, body string
		code               int
		want               string
	}{
		{"GET", "/v1/members?name=(", "", 400, "Failed to compile regex"},
		{"GET", "/v1/members?tag=role", "", 400, "is not key=value"},
		{"GET", "/v1/members?color=red", "", 400, `unknown parameter \"color\"`},
		{"GET", "/v1/members?name=a&name=b", "", 400, "given 2 times"},
		{"POST", "/v1/members", "", 405, "not allowed"},
		{"DELETE", "/v1/agent/tags", "", 405, "use GET, POST"},
		{"POST", "/v1/agent/join", "", 400, "needs a JSON body"},
		{"POST", "/v1/agent/join", "{", 400, "bad JSON body"},
		{"POST", "/v1/agent/join", `{"Existing":"a"}`, 400, "bad JSON body"},
		{"POST", "/v1/agent/join", `{"Existing":["a"],"Extra":1}`, 400, "unknown field"},
		{"POST", "/v1/agent/join", `{"Existing":[]}`, 400, "at least one address"},
		{"POST", "/v1/agent/join", `{"Existing":["a"]} {}`, 400, "more than one JSON value"},
		{"POST", "/v1/agent/join", `{"Existing":["` + big + `"]}`, 413, "larger than"},
		{"POST", "/v1/agent/tags", `{"Tags":{"a":1}}`, 400, "bad JSON body"},
		{"POST", "/v1/agent/force-leave", `{"Node":""}`, 400, "Node"},
		{"POST", "/v1/agent/force-leave", `{"Node":"ghost"}`, 404, "no member named"},
		{"POST", "/v1/agent/leave", "now", 400, "takes no body"},
		{"POST", "/v1/event/e?coalesce=maybe", "", 400, "not true or false"},
		{"POST", "/v1/event/e", strings.Repeat("p", 600), 413, "limit of 512 bytes"},
		{"POST", "/v1/event/e", big, 413, "larger than"},
		{"POST", "/v1/keys/rotate", `{"Key":"x"}`, 404, "use install, use or remove"},
		{"POST", "/v1/keys/install", `{}`, 400, "Key"},
		{"GET", "/v1/coordinates/ghost", "", 404, "no coordinate"},
		{"GET", "/v1/rtt/ghost", "", 404, "no coordinate"},
		{"POST", "/v1/query/q?timeout=soon", "", 400, "not a duration"},
		{"POST", "/v1/query/q?relay=300", "", 400, "from 0 to 255"},
		{"POST", "/v1/query/q?ack=perhaps", "", 400, "not true or false"},
		{"POST", "/v1/query/_serf_x", "", 400, "_serf_"},
		{"POST", "/v1/query/q?format=xml", "", 400, "not sse, ndjson or text"},
		{"GET", "/v1/events?type=bogus", "", 400, "Invalid event filter"},
		{"GET", "/v1/monitor?level=loud", "", 400, "Unknown log level: LOUD"},
		{"GET", "/v1/nothing", "", 404, "no such endpoint"},
		{"GET", "/v1/event/", "", 404, "no such endpoint"},
	} {
		code, b := n.do(t, tc.method, tc.path, tc.body)
		var reply map[string]any
		if code != tc.code || json.Unmarshal(b, &reply) != nil || !strings.Contains(string(b), tc.want) {
			t.Errorf("%s %s = %d %s; want %d with %q", tc.method, tc.path, code, b, tc.code, tc.want)
			continue
		}
		if _, ok := reply["error"].(string); !ok {
			t.Errorf("%s %s: no error text in %s", tc.method, tc.path, b)
		}
	}
	if n.agent.Readiness() != "" || len(n.agent.Serf().LocalMember().Tags) != 0 {
		t.Errorf("after bad input: readiness %q, tags %v", n.agent.Readiness(), n.agent.Serf().LocalMember().Tags)
	}
	var ms client.MembersResponse
	n.json(t, "GET", "/v1/members", "", &ms)
}

// Keyring operations answer with every node's reply.
func TestHTTPAPIKeys(t *testing.T) {
	const key1 = "ZWTL+bgjHyQPhJRKcFe3ccirc2SFHmc/Nw67l8NQfdk="
	const key2 = "HvY8ubRZMgafUOWvrOadwOckVa1wN3QWAo46FVKbVN8="
	nodes := apiCluster(t, tcpTransport(t, ""), 3, func(c *Config) { c.EncryptKey = key1 })
	var kr client.KeyResponse
	nodes[0].json(t, "POST", "/v1/keys/install", fmt.Sprintf(`{"Key":%q}`, key2), &kr)
	if kr.NumNodes != 3 || kr.NumResp != 3 || kr.NumErr != 0 {
		t.Errorf("install = %+v", kr)
	}
	nodes[1].json(t, "POST", "/v1/keys/use", fmt.Sprintf(`{"Key":%q}`, key2), nil)
	nodes[2].json(t, "POST", "/v1/keys/remove", fmt.Sprintf(`{"Key":%q}`, key1), nil)
	nodes[0].json(t, "GET", "/v1/keys", "", &kr)
	if len(kr.Keys) != 1 || kr.Keys[key2] != 3 {
		t.Errorf("keys after rotation = %v, want %s on 3", kr.Keys, key2)
	}
	code, b := nodes[0].do(t, "POST", "/v1/keys/remove", fmt.Sprintf(`{"Key":%q}`, key2))
	if code != 500 || !bytes.Contains(b, []byte(`"NumErr":3`)) || !bytes.Contains(b, []byte(`"Messages"`)) {
		t.Errorf("removing the primary key = %d %s, want 500 with the three refusals", code, b)
	}
}

// 200 clients on the event stream all get the event, and a client that
// never reads neither stalls gossip nor the others; its stream is cut
// after the write timeout and the agent still shuts down at once.
func TestHTTPAPIEventStreams(t *testing.T) {
	nodes := apiCluster(t, tcpTransport(t, ""), 2, nil)
	n1, n2 := nodes[0], nodes[1]
	n1.agent.http.writeTimeout.Store(int64(500 * time.Millisecond))
	base := handlerCount(n1.agent)

	t.Run("200 clients", func(t *testing.T) {
		const clients = 200
		tr := &http.Transport{MaxIdleConnsPerHost: clients}
		defer tr.CloseIdleConnections()
		reader := &apiNode{base: n1.base, c: &http.Client{Transport: tr}}
		var streams []*bufio.Scanner
		for range clients {
			sc, _ := reader.stream(t, "GET", "/v1/events?type=user:fanout", "")
			streams = append(streams, sc)
		}
		wait.For(t, 10*time.Second, func() error {
			if got := handlerCount(n1.agent) - base; got != clients {
				return fmt.Errorf("%d streams registered, want %d", got, clients)
			}
			return nil
		})
		n2.json(t, "POST", "/v1/event/fanout", "hi", nil)
		var wg sync.WaitGroup
		errs := make(chan error, clients)
		for i, sc := range streams {
			wg.Go(func() {
				if !sc.Scan() || !bytes.Contains(sc.Bytes(), []byte(`"Name":"fanout"`)) {
					errs <- fmt.Errorf("client %d got %q, %v", i, sc.Text(), sc.Err())
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
	wait.For(t, 10*time.Second, func() error {
		if got := handlerCount(n1.agent) - base; got != 0 {
			return fmt.Errorf("%d streams still registered after their clients went", got)
		}
		return nil
	})

	// A client that asks for every event and never reads, with a small
	// receive buffer so that the agent's writes to it soon block.
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1024) })
		return errors.Join(err, serr)
	}}
	stuck, err := d.Dial("tcp", n1.agent.HTTPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	fmt.Fprintf(stuck, "GET /v1/events HTTP/1.1\r\nHost: serf\r\n\r\n")
	wait.For(t, 10*time.Second, func() error {
		if handlerCount(n1.agent)-base != 1 {
			return errors.New("the stuck stream is not registered")
		}
		return nil
	})
	payload := strings.Repeat("z", 400)
	sent := 0
	wait.For(t, 30*time.Second, func() error {
		for range 100 {
			n1.json(t, "POST", fmt.Sprintf("/v1/event/flood%d?coalesce=false", sent), payload, nil)
			sent++
		}
		if handlerCount(n1.agent)-base != 0 {
			return fmt.Errorf("the stuck stream is still open after %d events", sent)
		}
		return nil
	})
	// Gossip went on: n2 sees a tag set on n1 after the flood.
	n1.json(t, "POST", "/v1/agent/tags", `{"Tags":{"after":"flood"}}`, nil)
	n2.waitMembers(t, "tag=after=flood", "node1")

	// A stream still open does not hold Shutdown up.
	_, _ = n1.stream(t, "GET", "/v1/events", "text/event-stream")
	start := time.Now()
	if err := n1.agent.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took >= httpShutdownTimeout {
		t.Errorf("Shutdown took %v with a stream open", took)
	}
}

// The JSON shapes of the requests and replies, as docs/http-api.md shows
// them: fields may be added, never renamed or removed.
func TestHTTPAPIShapes(t *testing.T) {
	member := client.Member{
		Name: "web1", Addr: net.ParseIP("10.0.0.1").To4(), Port: 7946, Tags: map[string]string{"role": "web"},
		Status: "alive", ProtocolMin: 1, ProtocolMax: 5, ProtocolCur: 2, DelegateMin: 2, DelegateMax: 5, DelegateCur: 4,
	}
	const memberJSON = `{"Name":"web1","Addr":"10.0.0.1","Port":7946,"Tags":{"role":"web"},"Status":"alive",` +
		`"ProtocolMin":1,"ProtocolMax":5,"ProtocolCur":2,"DelegateMin":2,"DelegateMax":5,"DelegateCur":4}`
	for _, tc := range []struct {
		name string
		v    any
		want string
	}{
		{"members", client.MembersResponse{Members: []client.Member{member}}, `{"Members":[` + memberJSON + `]}`},
		{"agent", agentInfo{Member: member, Stats: map[string]map[string]string{"agent": {"name": "web1"}}},
			`{"Member":` + memberJSON + `,"Stats":{"agent":{"name":"web1"}}}`},
		{"join", client.JoinResponse{Num: 2}, `{"Num":2}`},
		{"tags", tagsReply{Tags: map[string]string{"a": "b"}}, `{"Tags":{"a":"b"}}`},
		{"keys", client.KeyResponse{Messages: map[string]string{"n": "m"}, Keys: map[string]int{"k": 3}, NumNodes: 3, NumErr: 1, NumResp: 3},
			`{"Messages":{"n":"m"},"Keys":{"k":3},"NumNodes":3,"NumErr":1,"NumResp":3}`},
		{"coordinate", nodeCoordinate{Node: "n", Coord: &client.Coordinate{Vec: []float64{0.5, -1}, Error: 0.25, Adjustment: 0, Height: 1e-5}},
			`{"Node":"n","Coord":{"Vec":[0.5,-1],"Error":0.25,"Adjustment":0,"Height":0.00001}}`},
		{"rtt", rttReply{A: "a", B: "b", RTT: "1.5ms", Milliseconds: 1.5}, `{"A":"a","B":"b","RTT":"1.5ms","Milliseconds":1.5}`},
		{"query ack", client.QueryRecord{Type: "ack", From: "n"}, `{"Type":"ack","From":"n","Payload":null}`},
		{"query response", client.QueryRecord{Type: "response", From: "n", Payload: []byte("ok")}, `{"Type":"response","From":"n","Payload":"b2s="}`},
		{"member event", client.MemberEventRecord{Event: "member-join", Members: []client.Member{member}}, `{"Event":"member-join","Members":[` + memberJSON + `]}`},
		{"user event", client.UserEventRecord{Event: "user", LTime: 7, Name: "deploy", Payload: []byte("v1"), Coalesce: true},
			`{"Event":"user","LTime":7,"Name":"deploy","Payload":"djE=","Coalesce":true}`},
		{"query event", queryEvent{Event: "query", LTime: 3, Name: "uptime", Payload: nil}, `{"Event":"query","LTime":3,"Name":"uptime","Payload":null}`},
	} {
		b, err := json.Marshal(tc.v)
		if err != nil || string(b) != tc.want {
			t.Errorf("%s: %s (%v)\n want %s", tc.name, b, err, tc.want)
		}
	}
	// Request bodies as the docs show them decode into the RPC's types.
	for _, tc := range []struct {
		body string
		into any
		want any
	}{
		{`{"Existing":["10.0.0.1","10.0.0.2:7946"],"Replay":true}`, &client.JoinRequest{}, &client.JoinRequest{Existing: []string{"10.0.0.1", "10.0.0.2:7946"}, Replay: true}},
		{`{"Node":"web3","Prune":true}`, &client.ForceLeaveRequest{}, &client.ForceLeaveRequest{Node: "web3", Prune: true}},
		{`{"Tags":{"role":"db"},"DeleteTags":["old"]}`, &client.TagsRequest{}, &client.TagsRequest{Tags: map[string]string{"role": "db"}, DeleteTags: []string{"old"}}},
		{`{"Key":"ZWTL+bgjHyQPhJRKcFe3ccirc2SFHmc/Nw67l8NQfdk="}`, &client.KeyRequest{}, &client.KeyRequest{Key: "ZWTL+bgjHyQPhJRKcFe3ccirc2SFHmc/Nw67l8NQfdk="}},
	} {
		r := &http.Request{Body: io.NopCloser(strings.NewReader(tc.body))}
		if err := decodeBody(nopWriter{}, r, tc.into); err != nil {
			t.Errorf("decode %s: %v", tc.body, err)
		} else if got, want := fmt.Sprintf("%+v", tc.into), fmt.Sprintf("%+v", tc.want); got != want {
			t.Errorf("decode %s = %s, want %s", tc.body, got, want)
		}
	}
}

// nopWriter is a ResponseWriter for calls that only need one to exist.
type nopWriter struct{}

func (nopWriter) Header() http.Header         { return http.Header{} }
func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (nopWriter) WriteHeader(int)             {}

// FuzzHTTPRequest sends arbitrary query strings and bodies to the API's
// endpoints on a live agent (all but those that join, leave or stream
// without end): every reply is JSON, an error never a 5xx but where the
// operation itself failed, and the agent keeps serving.
func FuzzHTTPRequest(f *testing.F) {
	conf := &Config{NodeName: "fuzz1", BindAddr: "127.0.0.1:0", RPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Profile: "local"}
	conf, _, err := LoadConfig(conf, nil)
	if err != nil {
		f.Fatal(err)
	}
	a, _, err := New(conf, io.Discard)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = a.Shutdown() })
	if err := a.Start(); err != nil {
		f.Fatal(err)
	}
	a.Ready()
	n := &apiNode{agent: a, base: "http://" + a.HTTPAddr().String(), c: &http.Client{Timeout: 10 * time.Second}}
	endpoints := []struct{ method, path string }{
		{"GET", "/v1/members"}, {"GET", "/v1/agent"}, {"GET", "/v1/agent/tags"}, {"POST", "/v1/agent/tags"},
		{"POST", "/v1/agent/force-leave"}, {"POST", "/v1/event/fuzz"}, {"GET", "/v1/keys"}, {"POST", "/v1/keys/install"},
		{"GET", "/v1/coordinates"}, {"GET", "/v1/coordinates/fuzz1"}, {"GET", "/v1/rtt/fuzz1"}, {"DELETE", "/v1/members"},
	}
	f.Add(uint8(0), "name=fu.*&tag=a=b", []byte(nil))
	f.Add(uint8(3), "", []byte(`{"Tags":{"k":"v"},"DeleteTags":["x"]}`))
	f.Add(uint8(4), "", []byte(`{"Node":"ghost","Prune":true}`))
	f.Add(uint8(5), "coalesce=false", []byte("payload"))
	f.Add(uint8(7), "", []byte(`{"Key":"bad"}`))
	f.Add(uint8(0), "status=(", []byte(nil))
	f.Fuzz(func(t *testing.T, which uint8, query string, body []byte) {
		ep := endpoints[int(which)%len(endpoints)]
		// Bytes a request line cannot carry are refused by net/http
		// itself, before any handler of ours.
		if strings.ContainsFunc(query, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
			return
		}
		req, err := http.NewRequest(ep.method, n.base+ep.path, bytes.NewReader(body))
		if err != nil {
			return
		}
		req.URL.RawQuery = query
		resp, err := n.c.Do(req)
		if err != nil {
			t.Fatalf("%s %s?%s: %v", ep.method, ep.path, query, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var reply map[string]any
		if err := json.Unmarshal(b, &reply); err != nil {
			t.Fatalf("%s %s?%s = %d, not JSON: %q", ep.method, ep.path, query, resp.StatusCode, b)
		}
		operation := ep.path == "/v1/keys" || ep.path == "/v1/keys/install" || ep.path == "/v1/agent/force-leave"
		if resp.StatusCode >= 500 && !operation {
			t.Fatalf("%s %s?%s = %d %s", ep.method, ep.path, query, resp.StatusCode, b)
		}
		if code, _ := n.do(t, "GET", "/v1/health/live", ""); code != 200 {
			t.Fatalf("the agent stopped serving: live = %d", code)
		}
	})
}
