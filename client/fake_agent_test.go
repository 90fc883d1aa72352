package client

import (
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

// fakeAgent is an in-process RPC server that behaves like the agent's
// RPC layer where the client can tell: the handshake and auth gates
// (including the unread body after "Authentication required"), one
// request at a time per connection, hanging up after an unknown command.
// Commands answer with canned data; a test overrides any command with
// handle, which gets the connection to reply, stream or hang up as it
// likes.
type fakeAgent struct {
	tb      testing.TB
	ln      net.Listener
	authKey string

	// freshHeader decodes each request header into a new value, so an
	// unread body refused for want of auth comes back as Seq 0; the
	// agent reuses one value, and it comes back with the same Seq.
	// Guarded by mu.
	freshHeader bool

	mu       sync.Mutex
	handlers map[string]fakeHandler // guarded by mu
	conns    []*fakeConn            // guarded by mu

	wg sync.WaitGroup
}

// fakeHandler serves one request whose header has been read; it reads the
// body itself. Returning false hangs up.
type fakeHandler func(fc *fakeConn, seq uint64) bool

// fakeConn is the server side of one client connection.
type fakeConn struct {
	tb     testing.TB
	conn   net.Conn
	dec    *codec.Decoder
	wmu    sync.Mutex
	enc    *codec.Encoder // guarded by wmu
	shaken bool
	authed bool
}

var fakeMembers = []Member{{
	Name: "n1", Addr: net.IP{127, 0, 0, 1}, Port: 7946,
	Tags: map[string]string{"role": "web"}, Status: "alive",
	ProtocolMin: 1, ProtocolMax: 5, ProtocolCur: 2,
	DelegateMin: 2, DelegateMax: 5, DelegateCur: 5,
}}

// newFakeAgent starts a fake agent on 127.0.0.1 that stops when the test
// ends. A non-empty authKey makes it require auth.
func newFakeAgent(tb testing.TB, authKey string) *fakeAgent {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	fa := &fakeAgent{tb: tb, ln: ln, authKey: authKey, handlers: map[string]fakeHandler{}}
	fa.wg.Add(1)
	go fa.accept()
	tb.Cleanup(func() {
		ln.Close()
		fa.mu.Lock()
		for _, fc := range fa.conns {
			fc.conn.Close()
		}
		fa.mu.Unlock()
		fa.wg.Wait()
	})
	return fa
}

func (fa *fakeAgent) addr() string { return fa.ln.Addr().String() }

// handle makes h serve command from now on.
func (fa *fakeAgent) handle(command string, h fakeHandler) {
	fa.mu.Lock()
	defer fa.mu.Unlock()
	fa.handlers[command] = h
}

// client connects a client to the agent with conf (Addr filled in) and
// closes it when the test ends.
// handleStop answers stop requests: it hands the stopped handle to
// stopped, replies, then sends the late records on the stopped stream.
func (fa *fakeAgent) handleStop(stopped chan<- uint64, late ...any) {
	fa.handle(StopCommand, func(fc *fakeConn, seq uint64) bool {
		var req StopRequest
		if !fc.body(&req) {
			return false
		}
		stopped <- req.Stop
		ok := fc.reply(seq, "", nil)
		for _, r := range late {
			ok = ok && fc.reply(req.Stop, "", r)
		}
		return ok
	})
}

func (fa *fakeAgent) client(tb testing.TB, conf Config) *RPCClient {
	tb.Helper()
	conf.Addr = fa.addr()
	c, err := ClientFromConfig(&conf)
	if err != nil {
		tb.Fatalf("ClientFromConfig() error = %v", err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

func (fa *fakeAgent) accept() {
	defer fa.wg.Done()
	for {
		conn, err := fa.ln.Accept()
		if err != nil {
			return
		}
		h := NewCodecHandle()
		fc := &fakeConn{tb: fa.tb, conn: conn, dec: codec.NewDecoder(conn, h), enc: codec.NewEncoder(conn, h)}
		fa.mu.Lock()
		fa.conns = append(fa.conns, fc)
		fa.mu.Unlock()
		fa.wg.Add(1)
		go fa.serve(fc)
	}
}

func (fa *fakeAgent) serve(fc *fakeConn) {
	defer fa.wg.Done()
	defer fc.conn.Close()
	// One header for the whole connection, as the agent has: a body left
	// unread after "Authentication required" is decoded into it as the
	// next header and leaves its Command and Seq as they were.
	fa.mu.Lock()
	freshHeader := fa.freshHeader
	fa.mu.Unlock()
	var h RequestHeader
	for {
		if freshHeader {
			h = RequestHeader{}
		}
		if err := fc.dec.Decode(&h); err != nil {
			return
		}
		if h.Command != HandshakeCommand && !fc.shaken {
			fc.reply(h.Seq, string(ErrHandshakeRequired), nil)
			return
		}
		if fa.authKey != "" && !fc.authed && h.Command != HandshakeCommand && h.Command != AuthCommand {
			// As the agent: the body, if any, stays unread.
			fc.reply(h.Seq, string(ErrAuthRequired), nil)
			continue
		}
		fa.mu.Lock()
		handler := fa.handlers[h.Command]
		fa.mu.Unlock()
		if handler == nil {
			handler = fa.defaultHandler(h.Command)
		}
		if !handler(fc, h.Seq) {
			return
		}
	}
}

// defaultHandler returns the canned behaviour for command.
func (fa *fakeAgent) defaultHandler(command string) fakeHandler {
	// ack reads a body of type T and answers with no error and no body.
	ack := func(body any) fakeHandler {
		return func(fc *fakeConn, seq uint64) bool {
			return fc.body(body) && fc.reply(seq, "", nil)
		}
	}
	switch command {
	case HandshakeCommand:
		return withBody(func(fc *fakeConn, seq uint64, req HandshakeRequest) bool {
			errText := ""
			switch {
			case req.Version < MinIPCVersion || req.Version > MaxIPCVersion:
				errText = string(ErrUnsupportedIPCVersion)
			case fc.shaken:
				errText = string(ErrDuplicateHandshake)
			default:
				fc.shaken = true
			}
			return fc.reply(seq, errText, nil)
		})
	case AuthCommand:
		return withBody(func(fc *fakeConn, seq uint64, req AuthRequest) bool {
			if req.AuthKey != fa.authKey {
				return fc.reply(seq, string(ErrInvalidAuthToken), nil)
			}
			fc.authed = true
			return fc.reply(seq, "", nil)
		})
	case MembersCommand:
		return func(fc *fakeConn, seq uint64) bool {
			return fc.reply(seq, "", &MembersResponse{Members: fakeMembers})
		}
	case MembersFilteredCommand:
		return withBody(func(fc *fakeConn, seq uint64, req MembersFilteredRequest) bool {
			var out []Member
			for _, m := range fakeMembers {
				if req.Name == "" || req.Name == m.Name {
					out = append(out, m)
				}
			}
			return fc.reply(seq, "", &MembersResponse{Members: out})
		})
	case JoinCommand:
		return withBody(func(fc *fakeConn, seq uint64, req JoinRequest) bool {
			num, errText := 0, ""
			for _, a := range req.Existing {
				if a == "bad" {
					errText = "1 error occurred:\n\t* failed to join bad\n\n"
				} else {
					num++
				}
			}
			return fc.reply(seq, errText, &JoinResponse{Num: int32(num)})
		})
	case InstallKeyCommand, UseKeyCommand, RemoveKeyCommand:
		return withBody(func(fc *fakeConn, seq uint64, req KeyRequest) bool {
			if req.Key == "bad" {
				return fc.reply(seq, "1/2 nodes reported failure", &KeyResponse{
					Messages: map[string]string{"n2": "key size must be 16, 24 or 32 bytes"},
					NumNodes: 2, NumErr: 1, NumResp: 2,
				})
			}
			return fc.reply(seq, "", &KeyResponse{NumNodes: 2, NumResp: 2})
		})
	case ListKeysCommand:
		return func(fc *fakeConn, seq uint64) bool {
			return fc.reply(seq, "", &KeyResponse{Keys: map[string]int{"a2V5": 2}, NumNodes: 2, NumResp: 2})
		}
	case StatsCommand:
		return func(fc *fakeConn, seq uint64) bool {
			return fc.reply(seq, "", map[string]map[string]string{"agent": {"name": "n1"}})
		}
	case GetCoordinateCommand:
		return withBody(func(fc *fakeConn, seq uint64, req CoordinateRequest) bool {
			if req.Node != "n1" {
				return fc.reply(seq, "", &CoordinateResponse{})
			}
			return fc.reply(seq, "", &CoordinateResponse{
				Coord: Coordinate{Vec: []float64{0.5, -0.25}, Error: 1.5, Adjustment: 0.1, Height: 1e-5},
				Ok:    true,
			})
		})
	case EventCommand:
		return ack(&EventRequest{})
	case ForceLeaveCommand:
		return ack(&ForceLeaveRequest{})
	case TagsCommand:
		return ack(&TagsRequest{})
	case RespondCommand:
		return withBody(func(fc *fakeConn, seq uint64, req RespondRequest) bool {
			if req.ID != 1 {
				return fc.reply(seq, string(ErrInvalidQueryID), nil)
			}
			return fc.reply(seq, "", nil)
		})
	case StopCommand:
		return ack(&StopRequest{})
	case StreamCommand:
		return withBody(func(fc *fakeConn, seq uint64, req StreamRequest) bool {
			if req.Type == "foo" {
				return fc.reply(seq, string(ErrInvalidFilter), nil)
			}
			return fc.reply(seq, "", nil)
		})
	case MonitorCommand:
		return withBody(func(fc *fakeConn, seq uint64, req MonitorRequest) bool {
			level := strings.ToUpper(req.LogLevel)
			switch level {
			case "TRACE", "DEBUG", "INFO", "WARN", "ERR":
				return fc.reply(seq, "", nil)
			}
			return fc.reply(seq, string(UnknownLogLevelError(level)), nil)
		})
	case QueryCommand:
		return withBody(func(fc *fakeConn, seq uint64, req QueryRequest) bool {
			return fc.reply(seq, "", nil) &&
				fc.reply(seq, "", &QueryRecord{Type: QueryRecordAck, From: "n1"}) &&
				fc.reply(seq, "", &QueryRecord{Type: QueryRecordResponse, From: "n1", Payload: []byte("hi\n")}) &&
				fc.reply(seq, "", &QueryRecord{Type: QueryRecordDone})
		})
	case LeaveCommand:
		return func(fc *fakeConn, seq uint64) bool {
			fc.reply(seq, "", nil)
			return false
		}
	}
	return func(fc *fakeConn, seq uint64) bool {
		fc.reply(seq, string(ErrUnsupportedCommand), nil)
		return false
	}
}

// withBody is a handler that reads a request body of type R and hands it
// to h; it stops serving the connection when the body cannot be read.
func withBody[R any](h func(fc *fakeConn, seq uint64, req R) bool) fakeHandler {
	return func(fc *fakeConn, seq uint64) bool {
		var req R
		return fc.body(&req) && h(fc, seq, req)
	}
}

// body reads the request body into v. It reports false, after failing the
// test for anything but a closed connection, when that fails.
func (fc *fakeConn) body(v any) bool {
	if err := fc.dec.Decode(v); err != nil {
		if !isClosedConn(err) {
			fc.tb.Errorf("fake agent: decode %T: %v", v, err)
		}
		return false
	}
	return true
}

// reply writes a header and, when body is not nil, a body. Safe for
// concurrent use, like the agent's Send. It reports whether that worked.
func (fc *fakeConn) reply(seq uint64, errText string, body any) bool {
	fc.wmu.Lock()
	defer fc.wmu.Unlock()
	if err := fc.enc.Encode(&ResponseHeader{Seq: seq, Error: errText}); err != nil {
		return false
	}
	if body != nil {
		if err := fc.enc.Encode(body); err != nil {
			return false
		}
	}
	return true
}

func isClosedConn(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) ||
		strings.Contains(err.Error(), "connection reset")
}
