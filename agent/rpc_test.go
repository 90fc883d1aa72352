package agent

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/openserf/serf/client"
	"github.com/openserf/serf/internal/testutil/cluster"
	"github.com/openserf/serf/internal/testutil/wait"
	"github.com/openserf/serf/serf"
)

// rpcTestAgent starts an agent and its RPC server on a fresh address.
func rpcTestAgent(t testing.TB, authKey string, tweaks ...func(*serf.Config)) (*Agent, string, *cluster.SafeBuffer) {
	t.Helper()
	return rpcTestAgentWith(t, authKey, Options{}, tweaks...)
}

// rpcTestAgentWith is rpcTestAgent with agent options.
func rpcTestAgentWith(t testing.TB, authKey string, opts Options, tweaks ...func(*serf.Config)) (*Agent, string, *cluster.SafeBuffer) {
	t.Helper()
	a, _, addr, logs := rpcTestServerWith(t, authKey, opts, rpcWriteTimeout, tweaks...)
	return a, addr, logs
}

// rpcTestServerWith is rpcTestAgentWith with the time a write to a client
// may take, returning the RPC server too.
func rpcTestServerWith(t testing.TB, authKey string, opts Options, writeTimeout time.Duration,
	tweaks ...func(*serf.Config)) (*Agent, *RPCServer, string, *cluster.SafeBuffer) {
	t.Helper()
	sc := cluster.Config("rpc")
	for _, tw := range tweaks {
		tw(sc)
	}
	ring := NewLogRing(512)
	a, logs := startAgentWith(t, sc, opts, ring)
	l, err := net.Listen("tcp", sc.MemberlistConfig.BindAddr+":0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newRPCServer(a, authKey, l, ring, a.Logger(), writeTimeout)
	t.Cleanup(srv.Shutdown) // before the agent's cleanup: cleanups run last first
	return a, srv, l.Addr().String(), logs
}

// rawConn speaks the RPC protocol by hand.
type rawConn struct {
	t    testing.TB
	conn net.Conn
	enc  *codec.Encoder
	dec  *codec.Decoder
	w    *bufio.Writer
}

func dialRaw(t testing.TB, addr string) *rawConn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	w := bufio.NewWriter(conn)
	h := client.NewCodecHandle()
	return &rawConn{t: t, conn: conn, w: w, enc: codec.NewEncoder(w, h), dec: codec.NewDecoder(bufio.NewReader(conn), h)}
}

func (r *rawConn) send(command string, seq uint64, body any) {
	r.t.Helper()
	if err := r.enc.Encode(&client.RequestHeader{Command: command, Seq: seq}); err != nil {
		r.t.Fatal(err)
	}
	if body != nil {
		if err := r.enc.Encode(body); err != nil {
			r.t.Fatal(err)
		}
	}
	if err := r.w.Flush(); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rawConn) header() (client.ResponseHeader, error) {
	var h client.ResponseHeader
	err := r.dec.Decode(&h)
	return h, err
}

func (r *rawConn) expect(seq uint64, wantErr string) {
	r.t.Helper()
	h, err := r.header()
	if err != nil {
		r.t.Fatalf("reading reply to seq %d: %v", seq, err)
	}
	if h.Seq != seq || h.Error != wantErr {
		r.t.Fatalf("reply = %+v, want seq %d error %q", h, seq, wantErr)
	}
}

func (r *rawConn) expectClosed() {
	r.t.Helper()
	var h client.ResponseHeader
	if err := r.dec.Decode(&h); err == nil {
		r.t.Fatalf("got %+v, want the connection closed", h)
	}
}

func (r *rawConn) handshake() {
	r.send(client.HandshakeCommand, 0, &client.HandshakeRequest{Version: 1})
	r.expect(0, "")
}

// stillServes checks a fresh client can list members.
func stillServes(t testing.TB, addr string) {
	t.Helper()
	c, err := client.NewRPCClient(addr)
	if err != nil {
		t.Fatalf("agent no longer serves RPC: %v", err)
	}
	defer c.Close()
	if ms, err := c.Members(); err != nil || len(ms) != 1 {
		t.Fatalf("Members() = %v, %v after bad input", ms, err)
	}
}

func TestRPCGateErrors(t *testing.T) {
	_, addr, _ := rpcTestAgent(t, "")

	r := dialRaw(t, addr)
	r.send(client.MembersCommand, 1, nil)
	r.expect(1, "Handshake required")
	r.expectClosed()

	r = dialRaw(t, addr)
	r.handshake()
	r.send(client.HandshakeCommand, 1, &client.HandshakeRequest{Version: 1})
	r.expect(1, "Handshake already performed")
	r.send("bogus", 2, nil)
	r.expect(2, "Unsupported command")
	r.expectClosed()

	r = dialRaw(t, addr)
	r.send(client.HandshakeCommand, 0, &client.HandshakeRequest{Version: 2})
	r.expect(0, "Unsupported IPC version")

	r = dialRaw(t, addr)
	r.handshake()
	r.send(client.StreamCommand, 3, &client.StreamRequest{Type: "foo"})
	r.expect(3, "Invalid event filter")
	r.send(client.MonitorCommand, 4, &client.MonitorRequest{LogLevel: "foo"})
	r.expect(4, "Unknown log level: FOO")
	r.send(client.RespondCommand, 5, &client.RespondRequest{ID: 9})
	r.expect(5, "No pending queries matching ID")
	r.send(client.QueryCommand, 6, &client.QueryRequest{Name: "_serf_x"})
	r.expect(6, "Queries cannot contain the '_serf_' prefix")
	// A bad regexp closes the connection without a reply, as in Serf.
	r.send(client.MembersFilteredCommand, 7, &client.MembersFilteredRequest{Name: "("})
	r.expectClosed()
	stillServes(t, addr)
}

func TestRPCAuth(t *testing.T) {
	_, addr, logs := rpcTestAgent(t, "s3cret")
	r := dialRaw(t, addr)
	r.handshake()
	r.send(client.MembersCommand, 1, nil)
	r.expect(1, "Authentication required")
	r.send(client.AuthCommand, 2, &client.AuthRequest{AuthKey: "wrong"})
	r.expect(2, "Invalid authentication token")
	r.send(client.AuthCommand, 3, &client.AuthRequest{AuthKey: "s3cret"})
	r.expect(3, "")
	r.send(client.MembersCommand, 4, nil)
	r.expect(4, "")
	var ms client.MembersResponse
	if err := r.dec.Decode(&ms); err != nil || len(ms.Members) != 1 || ms.Members[0].Name != "rpc" {
		t.Errorf("members = %+v, %v", ms, err)
	}
	if !strings.Contains(logs.String(), "[WARN] agent.ipc: Client sending commands before auth") {
		t.Errorf("no warning for commands before auth")
	}
}

func TestRPCHostileInput(t *testing.T) {
	_, addr, _ := rpcTestAgent(t, "")
	inputs := map[string][]byte{
		"garbage":        []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		"truncated":      {0x82, 0xa7, 'C', 'o', 'm'},
		"huge string":    {0x82, 0xa7, 'C', 'o', 'm', 'm', 'a', 'n', 'd', 0xdb, 0xff, 0xff, 0xff, 0xff, 'x'},
		"huge map":       {0xdf, 0xff, 0xff, 0xff, 0xff},
		"huge array":     {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01},
		"deep nesting":   bytes.Repeat([]byte{0x91}, 100000),
		"wrong key type": {0x81, 0x01, 0x02},
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			r := dialRaw(t, addr)
			if _, err := r.conn.Write(in); err != nil {
				t.Fatal(err)
			}
			_ = r.conn.(*net.TCPConn).CloseWrite()
			_, _ = io.Copy(io.Discard, r.conn) // the agent closes its side
			stillServes(t, addr)
		})
	}
	// A body that does not decode, after a good header.
	r := dialRaw(t, addr)
	r.handshake()
	r.send(client.EventCommand, 1, []int{1, 2, 3})
	r.expectClosed()
	stillServes(t, addr)
}

// A client that opens a stream and then stops reading loses events but
// holds nothing up: other clients are served and the agent keeps going.
func TestRPCStuckStreamReader(t *testing.T) {
	a, addr, logs := rpcTestAgent(t, "", func(c *serf.Config) { c.UserEventSizeLimit = serf.UserEventSizeLimit })
	r := dialRaw(t, addr)
	r.handshake()
	r.send(client.StreamCommand, 1, &client.StreamRequest{Type: "user"})
	r.expect(1, "")
	// Never read again; shrink the socket buffer so writes block early.
	_ = r.conn.(*net.TCPConn).SetReadBuffer(1024)

	// 3000 events of 9000 bytes outgrow any socket buffer.
	payload := bytes.Repeat([]byte("x"), 9000)
	for i := 0; i < 3000; i++ {
		if err := a.UserEvent(fmt.Sprintf("e%d", i), payload, false); err != nil {
			t.Fatal(err)
		}
	}
	stillServes(t, addr)
	wait.For(t, 30*time.Second, func() error {
		if !strings.Contains(logs.String(), "[WARN] agent.ipc: Dropping event to") {
			return fmt.Errorf("no dropped-event warning yet")
		}
		return nil
	})
	stillServes(t, addr)
}

// FuzzRPCRequest feeds arbitrary bytes after a handshake to a live agent:
// it must neither crash nor stop serving other clients.
func FuzzRPCRequest(f *testing.F) {
	_, addr, _ := rpcTestAgent(f, "")
	var seed bytes.Buffer
	enc := codec.NewEncoder(&seed, client.NewCodecHandle())
	_ = enc.Encode(&client.RequestHeader{Command: client.EventCommand, Seq: 1})
	_ = enc.Encode(&client.EventRequest{Name: "x", Payload: []byte("y")})
	f.Add(seed.Bytes())
	seed.Reset()
	_ = enc.Encode(&client.RequestHeader{Command: client.MembersFilteredCommand, Seq: 2})
	_ = enc.Encode(&client.MembersFilteredRequest{Tags: map[string]string{"a": "b"}})
	f.Add(seed.Bytes())
	f.Add([]byte{0x82, 0xa7, 'C', 'o', 'm', 'm', 'a', 'n', 'd', 0xa4, 's', 't', 'o', 'p'})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := dialRaw(t, addr)
		r.handshake()
		if _, err := r.conn.Write(data); err != nil {
			return
		}
		_ = r.conn.(*net.TCPConn).CloseWrite()
		_ = r.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _ = io.Copy(io.Discard, r.conn)
		stillServes(t, addr)
	})
}

// A client that hangs up between requests is not an error; one that
// sends bytes that are no request is logged, as Serf logs it.
func TestRPCDecodeErrorsLogged(t *testing.T) {
	_, addr, logs := rpcTestAgent(t, "")
	const line = "[ERR] agent.ipc: failed to decode request header: "

	r := dialRaw(t, addr)
	r.handshake()
	r.conn.Close()
	stillServes(t, addr)

	g := dialRaw(t, addr)
	if _, err := g.conn.Write([]byte{0x81, 0x01, 0x02}); err != nil {
		t.Fatal(err)
	}
	g.expectClosed()
	wait.For(t, 5*time.Second, func() error {
		if n := strings.Count(logs.String(), line); n != 1 {
			return fmt.Errorf("%d lines %q in the log, want 1 (for the bad bytes only)", n, line)
		}
		return nil
	})
}
