package command

import (
	"net"
	"sync"
	"testing"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/openserf/serf/client"
)

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

// answer is a handler for startFakeAgent that serves one command: it
// decodes the request body into a new Req and hands it to reply, which
// sends the answer and returns false to hang up. Any other command hangs
// up at once.
func answer[Req any](command string, reply func(fc *fakeConn, seq uint64, req *Req) bool) func(*fakeConn, client.RequestHeader) bool {
	return func(fc *fakeConn, h client.RequestHeader) bool {
		var req Req
		if h.Command != command || fc.body(&req) != nil {
			return false
		}
		return reply(fc, h.Seq, &req)
	}
}
