package client

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/openserf/serf/internal/testutil/golden"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/openserf/serf/internal/testutil/agentproc"
	"github.com/openserf/serf/internal/testutil/oracle"
	"github.com/openserf/serf/internal/testutil/wait"
)

// The interop tests drive real Serf agents, the server this client must
// work with, through every client method. Without SERF_INTEROP=1 they run
// only for oracle versions already cached.

const (
	interopWait = 30 * time.Second // agent start, gossip convergence, events
	failWait    = 60 * time.Second // failure detection of a killed agent

	rpcAuth = "secret"
	key1    = "8VS/gSYks6mz1iIWYg//PM0K+SDxydb+v1gvFWUWy14="
	key2    = "lCzVqYDwIFnx+vq5u4yROj5Ai3UL6wn8xo1Mb5r5Tqs="
)

// dial connects to a real agent once its RPC port is up, and closes the
// client when the test ends.
func dial(tb testing.TB, a *agentproc.Agent, authKey string) *RPCClient {
	tb.Helper()
	var c *RPCClient
	wait.For(tb, interopWait, func() error {
		select {
		case <-a.Exited():
			tb.Fatalf("agent %s exited: %v\n%s", a.RPCAddr, a.ExitErr(), a.Output())
		default:
		}
		var err error
		c, err = ClientFromConfig(&Config{Addr: a.RPCAddr, AuthKey: authKey})
		return err
	})
	tb.Cleanup(func() { c.Close() })
	return c
}

// authConfig writes a config file setting rpc_auth and returns its path.
func authConfig(tb testing.TB) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "auth.json")
	if err := os.WriteFile(path, []byte(`{"rpc_auth": "`+rpcAuth+`"}`), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// findMember returns the member named name.
func findMember(members []Member, name string) (Member, bool) {
	for _, m := range members {
		if m.Name == name {
			return m, true
		}
	}
	return Member{}, false
}

// waitRecord reads stream records until one satisfies match.
func waitRecord(tb testing.TB, ch <-chan map[string]interface{}, what string, match func(map[string]interface{}) bool) map[string]interface{} {
	tb.Helper()
	timeout := time.After(interopWait)
	for {
		select {
		case rec, ok := <-ch:
			if !ok {
				tb.Fatalf("stream closed while waiting for %s", what)
			}
			if match(rec) {
				return rec
			}
		case <-timeout:
			tb.Fatalf("no %s on the stream after %v", what, interopWait)
		}
	}
}

// recordMembers returns the member names of a member event record.
func recordMembers(rec map[string]interface{}) []string {
	var names []string
	ms, _ := rec["Members"].([]interface{})
	for _, m := range ms {
		if mm, ok := m.(map[interface{}]interface{}); ok {
			if name, ok := mm["Name"].(string); ok {
				names = append(names, name)
			}
		}
	}
	return names
}

// asUint returns an integer stream field as a uint64, whichever integer
// type the decoder picked.
func asUint(v interface{}) (uint64, bool) {
	switch n := v.(type) {
	case uint64:
		return n, true
	case int64:
		return uint64(n), n >= 0
	}
	return 0, false
}

// TestInteropClient drives every client method against two real agents:
// a1 with rpc_auth, an encryption key and a query handler, a2 with a tag.
func TestInteropClient(t *testing.T) {
	oracle.EachVersion(t, func(t *testing.T, version, bin string) {
		a1 := agentproc.Start(t, bin, "-node=a1", "-encrypt="+key1,
			"-config-file="+authConfig(t), "-event-handler=query:q=echo hi")
		a2 := agentproc.Start(t, bin, "-node=a2", "-encrypt="+key1, "-tag=role=web")
		c1 := dial(t, a1, rpcAuth)
		c2 := dial(t, a2, "")
		capital := version == "v0.10.2" // memberlist v0.5.2 capitalises its errors

		t.Run("auth", func(t *testing.T) {
			_, err := ClientFromConfig(&Config{Addr: a1.RPCAddr, AuthKey: "wrong"})
			if err == nil || err.Error() != "Invalid authentication token" {
				t.Errorf("ClientFromConfig(wrong key) = %v, want Invalid authentication token", err)
			}
			_, err = ClientFromConfig(&Config{Addr: a2.RPCAddr, AuthKey: "any"})
			if !errors.Is(err, ErrInvalidAuthToken) {
				t.Errorf("ClientFromConfig(key, agent without rpc_auth) = %v, want %q", err, ErrInvalidAuthToken)
			}
			noAuth, err := NewRPCClient(a1.RPCAddr)
			if err != nil {
				t.Fatalf("NewRPCClient() without a key = %v, want the handshake to pass", err)
			}
			defer noAuth.Close()
			if _, err := noAuth.Members(); err == nil || err.Error() != "Authentication required" {
				t.Errorf("Members() without auth = %v, want Authentication required", err)
			}
			// Requests with bodies desynchronise the agent: it refuses
			// the unread body again, as the same Seq. The client must keep
			// up.
			if _, err := noAuth.MembersFiltered(nil, "", "a1"); !errors.Is(err, ErrAuthRequired) {
				t.Errorf("MembersFiltered() without auth = %v, want %q", err, ErrAuthRequired)
			}
			if err := noAuth.UserEvent("x", []byte("y"), false); !errors.Is(err, ErrAuthRequired) {
				t.Errorf("UserEvent() without auth = %v, want %q", err, ErrAuthRequired)
			}
			if _, err := noAuth.Monitor("info", make(chan string, 1)); !errors.Is(err, ErrAuthRequired) {
				t.Errorf("Monitor() without auth = %v, want %q", err, ErrAuthRequired)
			}
			if _, err := noAuth.Stats(); !errors.Is(err, ErrAuthRequired) {
				t.Errorf("Stats() without auth = %v, want %q", err, ErrAuthRequired)
			}
			if noAuth.IsClosed() {
				t.Errorf("client closed after refused requests, want it open")
			}
		})

		evCh := make(chan map[string]interface{}, 256)
		evHandle, err := c1.Stream("*", evCh)
		if err != nil {
			t.Fatalf("Stream(*) = %v", err)
		}
		logCh := make(chan string, 2048)
		logHandle, err := c1.Monitor("debug", logCh)
		if err != nil {
			t.Fatalf("Monitor(debug) = %v", err)
		}

		t.Run("stream and monitor errors", func(t *testing.T) {
			if _, err := c1.Monitor("info", make(chan string, 1)); !errors.Is(err, ErrMonitorExists) {
				t.Errorf("second Monitor() = %v, want %q", err, ErrMonitorExists)
			}
			_, err := c2.Monitor("foo", make(chan string, 1))
			if err == nil || err.Error() != "Unknown log level: FOO" {
				t.Errorf("Monitor(foo) = %v, want Unknown log level: FOO", err)
			}
			if _, err := c2.Stream("foo", make(chan map[string]interface{}, 1)); !errors.Is(err, ErrInvalidFilter) {
				t.Errorf("Stream(foo) = %v, want %q", err, ErrInvalidFilter)
			}
		})

		t.Run("join", func(t *testing.T) {
			n, err := c1.Join([]string{a2.BindAddr}, false)
			if n != 1 || err != nil {
				t.Fatalf("Join(a2) = %d, %v, want 1, nil", n, err)
			}
			bad := "127.0.0.1:1"
			n, err = c1.Join([]string{bad}, false)
			verb := "failed"
			if capital {
				verb = "Failed"
			}
			wantPrefix := "1 error occurred:\n\t* " + verb + " to join " + bad + ": "
			if n != 0 || err == nil || !strings.HasPrefix(err.Error(), wantPrefix) || !strings.HasSuffix(err.Error(), "\n\n") {
				t.Errorf("Join(%s) = %d, %q, want 0 and %q...\\n\\n", bad, n, err, wantPrefix)
			}
		})

		t.Run("members", func(t *testing.T) {
			var members []Member
			wait.For(t, interopWait, func() error {
				var err error
				members, err = c2.Members()
				if err != nil {
					return err
				}
				m, ok := findMember(members, "a1")
				if !ok || m.Status != "alive" {
					return fmt.Errorf("a2 sees %+v, want a1 alive", members)
				}
				return nil
			})
			if len(members) != 2 {
				t.Errorf("Members() = %+v, want a1 and a2", members)
			}
			m, _ := findMember(members, "a2")
			host, port, _ := net.SplitHostPort(a2.BindAddr)
			if !m.Addr.Equal(net.ParseIP(host)) || len(m.Addr) != 4 || strconv.Itoa(int(m.Port)) != port {
				t.Errorf("a2 at %v:%d (%d-byte IP), want %s as a 4-byte IP", m.Addr, m.Port, len(m.Addr), a2.BindAddr)
			}
			if m.Tags["role"] != "web" || m.Status != "alive" {
				t.Errorf("a2 = %+v, want role=web, alive", m)
			}
			if m.ProtocolMin != 1 || m.ProtocolMax != 5 || m.ProtocolCur != 2 ||
				m.DelegateMin != 2 || m.DelegateMax != 5 || m.DelegateCur != 5 {
				t.Errorf("a2 protocols = %+v, want memberlist 1/5/2, serf 2/5/5", m)
			}
			a1m, _ := findMember(members, "a1")
			if a1m.Tags == nil || len(a1m.Tags) != 0 {
				t.Errorf("a1 tags = %#v, want an empty map, not nil", a1m.Tags)
			}

			got, err := c1.MembersFiltered(map[string]string{"role": "w.b"}, "alive", "")
			if err != nil || len(got) != 1 || got[0].Name != "a2" {
				t.Errorf("MembersFiltered(role=w.b) = %+v, %v, want a2", got, err)
			}
			got, err = c1.MembersFiltered(nil, "", "a1")
			if err != nil || len(got) != 1 || got[0].Name != "a1" {
				t.Errorf("MembersFiltered(name a1) = %+v, %v, want a1", got, err)
			}
			got, err = c1.MembersFiltered(nil, "", "a")
			if err != nil || len(got) != 0 {
				t.Errorf("MembersFiltered(name a) = %+v, %v, want none: the agent anchors ^a$", got, err)
			}
			// A bad expression makes the agent hang up without a reply.
			bad := dial(t, a2, "")
			if _, err := bad.MembersFiltered(nil, "(", ""); !errors.Is(err, ErrClosed) {
				t.Errorf("MembersFiltered(status \"(\") = %v, want ErrClosed", err)
			}
		})

		t.Run("member event", func(t *testing.T) {
			rec := waitRecord(t, evCh, "member-join of a2", func(rec map[string]interface{}) bool {
				return rec["Event"] == "member-join" && slices.Contains(recordMembers(rec), "a2")
			})
			t.Logf("member-join record: %#v", rec)
		})

		t.Run("user event", func(t *testing.T) {
			if err := c2.UserEvent("deploy", []byte("v1"), false); err != nil {
				t.Fatalf("UserEvent() = %v", err)
			}
			rec := waitRecord(t, evCh, "user event deploy", func(rec map[string]interface{}) bool {
				return rec["Event"] == "user" && rec["Name"] == "deploy"
			})
			payload, _ := rec["Payload"].([]byte)
			if string(payload) != "v1" || rec["Coalesce"] != false {
				t.Errorf("user event record = %#v, want payload v1, no coalescing", rec)
			}
			if lt, ok := asUint(rec["LTime"]); !ok || lt == 0 {
				t.Errorf("LTime = %#v, want a positive integer", rec["LTime"])
			}
			t.Logf("user event record: %#v", rec)
			big := bytes.Repeat([]byte("x"), 600)
			if err := c2.UserEvent("big", big, false); err == nil || !strings.Contains(err.Error(), "exceeds configured limit of 512 bytes") {
				t.Errorf("UserEvent(600 bytes) = %v, want the size limit error", err)
			}
		})

		t.Run("tags", func(t *testing.T) {
			if err := c2.UpdateTags(map[string]string{"dc": "east"}, nil); err != nil {
				t.Fatalf("UpdateTags() = %v", err)
			}
			waitRecord(t, evCh, "member-update of a2", func(rec map[string]interface{}) bool {
				return rec["Event"] == "member-update" && slices.Contains(recordMembers(rec), "a2")
			})
			wait.For(t, interopWait, func() error {
				members, err := c1.Members()
				if err != nil {
					return err
				}
				m, _ := findMember(members, "a2")
				if m.Tags["dc"] != "east" || m.Tags["role"] != "web" {
					return fmt.Errorf("a2 tags = %v, want dc=east, role=web", m.Tags)
				}
				return nil
			})
			if err := c2.UpdateTags(nil, []string{"dc"}); err != nil {
				t.Fatalf("UpdateTags(delete dc) = %v", err)
			}
			wait.For(t, interopWait, func() error {
				members, err := c1.Members()
				if err != nil {
					return err
				}
				m, _ := findMember(members, "a2")
				if len(m.Tags) != 1 || m.Tags["role"] != "web" {
					return fmt.Errorf("a2 tags = %v, want only role=web", m.Tags)
				}
				return nil
			})
		})

		t.Run("query", func(t *testing.T) {
			ackCh := make(chan string, 16)
			respCh := make(chan NodeResponse, 16)
			start := time.Now()
			err := c2.Query(&QueryParam{
				Name: "q", Payload: []byte("p"), RequestAck: true,
				Timeout: 2 * time.Second, AckCh: ackCh, RespCh: respCh,
			})
			if err != nil {
				t.Fatalf("Query(q) = %v", err)
			}
			acks, resps := drainQuery(ackCh, respCh)
			took := time.Since(start)
			slices.Sort(acks)
			if !slices.Equal(acks, []string{"a1", "a2"}) {
				t.Errorf("acks = %q, want a1 and a2 (the asking node acks too)", acks)
			}
			if len(resps) != 1 || resps[0].From != "a1" || string(resps[0].Payload) != "hi\n" {
				t.Errorf("responses = %+v, want a1: \"hi\\n\" from its handler", resps)
			}
			if took < 2*time.Second || took > 2*time.Second+interopWait {
				t.Errorf("query ended after %v, want at its 2s deadline", took)
			}
			if err := c2.Query(&QueryParam{Name: "_serf_x"}); err == nil ||
				err.Error() != "Queries cannot contain the '_serf_' prefix" {
				t.Errorf("Query(_serf_x) = %v, want the prefix error", err)
			}
		})

		t.Run("respond", func(t *testing.T) {
			qCh := make(chan map[string]interface{}, 16)
			qHandle, err := c2.Stream("query:ask", qCh)
			if err != nil {
				t.Fatalf("Stream(query:ask) = %v", err)
			}
			respCh := make(chan NodeResponse, 16)
			if err := c1.Query(&QueryParam{Name: "ask", Payload: []byte("ping"), Timeout: 3 * time.Second, RespCh: respCh}); err != nil {
				t.Fatalf("Query(ask) = %v", err)
			}
			rec := waitRecord(t, qCh, "query ask", func(rec map[string]interface{}) bool {
				return rec["Event"] == "query" && rec["Name"] == "ask"
			})
			t.Logf("query record: %#v", rec)
			id, ok := asUint(rec["ID"])
			if !ok || id == 0 {
				t.Fatalf("query record ID = %#v, want a positive integer", rec["ID"])
			}
			if p, _ := rec["Payload"].([]byte); string(p) != "ping" {
				t.Errorf("query record payload = %#v, want ping", rec["Payload"])
			}
			if err := c2.Respond(id, []byte("pong")); err != nil {
				t.Errorf("Respond() = %v", err)
			}
			err = c2.Respond(id, []byte("again"))
			if want := "failed to respond to key query: response already sent"; err == nil || err.Error() != want {
				t.Errorf("second Respond() = %v, want %q", err, want)
			}
			if err := c2.Respond(id+1000, nil); !errors.Is(err, ErrInvalidQueryID) {
				t.Errorf("Respond(unknown) = %v, want %q", err, ErrInvalidQueryID)
			}
			var resps []NodeResponse
			for r := range respCh {
				resps = append(resps, r)
			}
			if len(resps) != 1 || resps[0].From != "a2" || string(resps[0].Payload) != "pong" {
				t.Errorf("responses = %+v, want a2: pong", resps)
			}
			if err := c2.Stop(qHandle); err != nil {
				t.Errorf("Stop(query stream) = %v", err)
			}
		})

		t.Run("keys", func(t *testing.T) {
			keys, num, msgs, err := c1.ListKeys()
			if err != nil || num != 2 || len(keys) != 1 || keys[key1] != 2 || len(msgs) != 0 {
				t.Fatalf("ListKeys() = %v, %d, %v, %v, want {key1: 2}, 2", keys, num, msgs, err)
			}
			if msgs, err := c1.InstallKey(key2); err != nil || len(msgs) != 0 {
				t.Fatalf("InstallKey() = %v, %v", msgs, err)
			}
			if msgs, err := c1.UseKey(key2); err != nil || len(msgs) != 0 {
				t.Fatalf("UseKey() = %v, %v", msgs, err)
			}
			if msgs, err := c1.RemoveKey(key1); err != nil || len(msgs) != 0 {
				t.Fatalf("RemoveKey(old) = %v, %v", msgs, err)
			}
			keys, num, _, err = c1.ListKeys()
			if err != nil || num != 2 || len(keys) != 1 || keys[key2] != 2 {
				t.Errorf("ListKeys() after rotation = %v, %d, %v, want {key2: 2}", keys, num, err)
			}
			msgs, err = c1.RemoveKey(key2)
			wantMsg := "removing the primary key is not allowed"
			if capital {
				wantMsg = "Removing the primary key is not allowed"
			}
			if err == nil || err.Error() != "2/2 nodes reported failure" || msgs["a1"] != wantMsg || msgs["a2"] != wantMsg {
				t.Errorf("RemoveKey(primary) = %v, %v, want both nodes' %q and 2/2 nodes reported failure", msgs, err, wantMsg)
			}
			msgs, err = c1.InstallKey("!!")
			if err == nil || !strings.HasPrefix(err.Error(), "illegal base64 data at input byte") || len(msgs) != 0 {
				t.Errorf("InstallKey(!!) = %v, %v, want a base64 error and no messages", msgs, err)
			}
			// a2 has no rpc_auth, the key commands work from it too.
			if _, num, _, err := c2.ListKeys(); err != nil || num != 2 {
				t.Errorf("ListKeys() from a2 = %d, %v", num, err)
			}
		})

		t.Run("stats", func(t *testing.T) {
			stats, err := c1.Stats()
			if err != nil {
				t.Fatalf("Stats() = %v", err)
			}
			if stats["agent"]["name"] != "a1" || stats["serf"]["members"] != "2" ||
				stats["serf"]["encrypted"] != "true" || stats["event_handlers"]["query:q"] != "echo hi" ||
				stats["runtime"]["os"] == "" {
				t.Errorf("Stats() = %v", stats)
			}
		})

		t.Run("coordinate", func(t *testing.T) {
			var coord *Coordinate
			wait.For(t, interopWait, func() error {
				var err error
				coord, err = c1.GetCoordinate("a2")
				if err == nil && coord == nil {
					err = errors.New("no coordinate for a2 yet")
				}
				return err
			})
			if len(coord.Vec) != 8 || !coord.IsValid() {
				t.Errorf("GetCoordinate(a2) = %+v, want a valid 8-dimensional coordinate", coord)
			}
			if coord, err := c1.GetCoordinate("zz"); coord != nil || err != nil {
				t.Errorf("GetCoordinate(zz) = %+v, %v, want nil, nil", coord, err)
			}
		})

		t.Run("stop", func(t *testing.T) {
			var sawLog bool
			for len(logCh) > 0 {
				if strings.Contains(<-logCh, "agent") {
					sawLog = true
				}
			}
			if !sawLog {
				t.Errorf("monitor delivered no agent log line")
			}
			if err := c1.Stop(logHandle); err != nil {
				t.Errorf("Stop(monitor) = %v", err)
			}
			if err := c1.Stop(evHandle); err != nil {
				t.Errorf("Stop(stream) = %v", err)
			}
			for range evCh {
			}
			for range logCh {
			}
			// A new monitor is allowed once the old one is stopped.
			h, err := c1.Monitor("info", make(chan string, 16))
			if err != nil {
				t.Errorf("Monitor() after Stop = %v", err)
			} else if err := c1.Stop(h); err != nil {
				t.Errorf("Stop() = %v", err)
			}
		})

		t.Run("force-leave", func(t *testing.T) {
			if err := c1.ForceLeave("nobody"); err != nil {
				t.Errorf("ForceLeave(nobody) = %v, want nil", err)
			}
			a2.Kill()
			if _, err := c2.Members(); !errors.Is(err, ErrClosed) {
				t.Errorf("Members() on a killed agent = %v, want ErrClosed", err)
			}
			waitStatus := func(want string) {
				t.Helper()
				wait.For(t, failWait, func() error {
					members, err := c1.Members()
					if err != nil {
						return err
					}
					m, ok := findMember(members, "a2")
					switch {
					case want == "" && ok:
						return fmt.Errorf("a2 is %s, want it gone", m.Status)
					case want != "" && m.Status != want:
						return fmt.Errorf("a2 is %q, want %q", m.Status, want)
					}
					return nil
				})
			}
			waitStatus("failed")
			if err := c1.ForceLeave("a2"); err != nil {
				t.Errorf("ForceLeave(a2) = %v", err)
			}
			waitStatus("left")
			if err := c1.ForceLeavePrune("a2"); err != nil {
				t.Errorf("ForceLeavePrune(a2) = %v", err)
			}
			waitStatus("")
		})

		t.Run("leave", func(t *testing.T) {
			if err := c1.Leave(); err != nil {
				t.Fatalf("Leave() = %v", err)
			}
			select {
			case <-a1.Exited():
				if err := a1.ExitErr(); err != nil {
					t.Errorf("agent exit after leave = %v, want status 0", err)
				}
			case <-time.After(interopWait):
				t.Fatalf("agent still running %v after leave", interopWait)
			}
			waitClosed(t, c1)
		})
	})
}

// rawConn is a bare RPC connection for replaying golden frames.
type rawConn struct {
	tb   testing.TB
	conn net.Conn
}

func dialRaw(tb testing.TB, addr string) *rawConn {
	tb.Helper()
	conn, err := net.DialTimeout("tcp", addr, interopWait)
	if err != nil {
		tb.Fatalf("dial %s: %v", addr, err)
	}
	tb.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(interopWait))
	return &rawConn{tb: tb, conn: conn}
}

func (r *rawConn) write(b []byte) {
	r.tb.Helper()
	if _, err := r.conn.Write(b); err != nil {
		r.tb.Fatalf("write: %v", err)
	}
}

// expect reads len(want) bytes and compares them with want.
func (r *rawConn) expect(what string, want []byte) {
	r.tb.Helper()
	got := make([]byte, len(want))
	if _, err := io.ReadFull(r.conn, got); err != nil {
		r.tb.Fatalf("read %s: %v (got % x)", what, err, got)
	}
	if !bytes.Equal(got, want) {
		r.tb.Errorf("%s = % x\nwant % x", what, got, want)
	}
}

// expectEOF checks that the agent hung up.
func (r *rawConn) expectEOF(what string) {
	r.tb.Helper()
	var b [1]byte
	if n, err := r.conn.Read(b[:]); err != io.EOF {
		r.tb.Errorf("after %s: read %d bytes, %v, want EOF", what, n, err)
	}
}

// byteReader reads one byte at a time, so a decoder on it never reads
// past the object it decodes.
type byteReader struct{ r io.Reader }

func (b byteReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return b.r.Read(p)
}

// TestInteropGoldenExchange replays the exchange of docs/wire.md,
// "Example exchange", against real agents and compares their replies with
// the golden frames byte for byte.
func TestInteropGoldenExchange(t *testing.T) {
	oracle.EachVersion(t, func(t *testing.T, _, bin string) {
		a := agentproc.Start(t, bin, "-node=p1", "-tag=role=web")
		a.WaitRPC(interopWait)

		r := dialRaw(t, a.RPCAddr)
		r.write(golden.Read(t, "handshake_request"))
		r.expect("handshake reply", golden.Read(t, "handshake_reply"))

		r.write(golden.Read(t, "members_request"))
		dec := codec.NewDecoder(byteReader{r.conn}, NewCodecHandle())
		var h ResponseHeader
		var resp MembersResponse
		if err := dec.Decode(&h); err != nil || h != (ResponseHeader{Seq: 2}) {
			t.Fatalf("members reply header = %+v, %v", h, err)
		}
		if err := dec.Decode(&resp); err != nil || len(resp.Members) != 1 || resp.Members[0].Name != "p1" {
			t.Errorf("members reply = %+v, %v, want p1", resp, err)
		}
		// The same member, re-encoded, must match what the agent sent:
		// compare through our encoder, since the port varies.
		want := encodeFrame(t, &h, &resp)
		var got []byte
		r.write(golden.Read(t, "members_request"))
		got = make([]byte, len(want))
		if _, err := io.ReadFull(r.conn, got); err != nil || !bytes.Equal(got, want) {
			t.Errorf("members reply = % x, %v\nwant (re-encoded) % x", got, err, want)
		}

		r.write(golden.Read(t, "get_coordinate_request"))
		r.expect("get-coordinate reply", golden.Read(t, "get_coordinate_reply"))
		r.write(golden.Read(t, "stream_request"))
		r.expect("stream reply", golden.Read(t, "stream_reply_invalid_filter"))
		r.write(golden.Read(t, "bogus_request"))
		r.expect("bogus reply", golden.Read(t, "bogus_reply"))
		r.expectEOF("Unsupported command")
	})
}

// TestInteropGates checks the handshake and auth gates of real agents at
// the frame level.
func TestInteropGates(t *testing.T) {
	oracle.EachVersion(t, func(t *testing.T, _, bin string) {
		a := agentproc.Start(t, bin, "-node=g1", "-config-file="+authConfig(t))
		dial(t, a, rpcAuth) // waits for the RPC port

		frame := func(values ...any) []byte { return encodeFrame(t, values...) }
		reply := func(seq uint64, errText string) []byte {
			return frame(&ResponseHeader{Seq: seq, Error: errText})
		}

		// Nothing before the handshake; the agent hangs up.
		r := dialRaw(t, a.RPCAddr)
		r.write(frame(&RequestHeader{Command: MembersCommand, Seq: 7}))
		r.expect("reply before handshake", reply(7, string(ErrHandshakeRequired)))
		r.expectEOF("Handshake required")

		r = dialRaw(t, a.RPCAddr)
		r.write(frame(&RequestHeader{Command: HandshakeCommand, Seq: 1}, &HandshakeRequest{Version: 2}))
		r.expect("handshake v2", reply(1, string(ErrUnsupportedIPCVersion)))
		r.write(frame(&RequestHeader{Command: HandshakeCommand, Seq: 2}, &HandshakeRequest{Version: 1}))
		r.expect("handshake v1", reply(2, ""))
		r.write(frame(&RequestHeader{Command: HandshakeCommand, Seq: 3}, &HandshakeRequest{Version: 1}))
		r.expect("second handshake", reply(3, string(ErrDuplicateHandshake)))

		// Before auth: refused without a body, and a request's body is
		// then read into the same header as the next request, so the
		// refusal comes twice for its Seq.
		r.write(frame(&RequestHeader{Command: StatsCommand, Seq: 4}))
		r.expect("stats before auth", reply(4, string(ErrAuthRequired)))
		r.write(frame(&RequestHeader{Command: EventCommand, Seq: 5}, &EventRequest{Name: "e"}))
		r.expect("event before auth", append(reply(5, string(ErrAuthRequired)), reply(5, string(ErrAuthRequired))...))

		r.write(frame(&RequestHeader{Command: AuthCommand, Seq: 6}, &AuthRequest{AuthKey: "bad"}))
		r.expect("bad auth", reply(6, string(ErrInvalidAuthToken)))
		r.write(frame(&RequestHeader{Command: AuthCommand, Seq: 7}, &AuthRequest{AuthKey: rpcAuth}))
		r.expect("auth", reply(7, ""))
		r.write(frame(&RequestHeader{Command: StopCommand, Seq: 8}, &StopRequest{Stop: 99}))
		r.expect("stop of nothing", reply(8, ""))
		// Seq is echoed as sent, even when it goes down.
		r.write(frame(&RequestHeader{Command: StopCommand, Seq: 3}, &StopRequest{Stop: 99}))
		r.expect("stop with a reused Seq", reply(3, ""))
	})
}
