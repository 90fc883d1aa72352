package agent

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/openserf/serf/client"
	"github.com/openserf/serf/internal/testutil/cluster"
	"github.com/openserf/serf/internal/testutil/wait"
	"github.com/openserf/serf/serf"
)

// rpcTestServer starts an agent and an RPC server whose writes to a
// client give up after writeTimeout.
func rpcTestServer(t *testing.T, writeTimeout time.Duration) (*Agent, *RPCServer, string, *cluster.SafeBuffer) {
	t.Helper()
	return rpcTestServerWith(t, "", Options{}, writeTimeout, func(sc *serf.Config) {
		sc.UserEventSizeLimit = serf.UserEventSizeLimit
	})
}

// onlyClient returns the server's one connection.
func onlyClient(t *testing.T, srv *RPCServer) *rpcClient {
	t.Helper()
	var c *rpcClient
	wait.For(t, 10*time.Second, func() error {
		srv.lock.Lock()
		defer srv.lock.Unlock()
		if len(srv.clients) != 1 {
			return fmt.Errorf("%d connections, want 1", len(srv.clients))
		}
		for k := range srv.clients {
			c = k
		}
		return nil
	})
	return c
}

// stopReading makes r's connection a client that no longer reads: small
// buffers on both ends, so the agent's writes to it soon time out.
func stopReading(t *testing.T, r *rawConn, c *rpcClient) {
	t.Helper()
	_ = r.conn.(*net.TCPConn).SetReadBuffer(1024)
	_ = c.conn.(*net.TCPConn).SetWriteBuffer(1024)
}

// floodUntil sends big user events until the log holds line.
func floodUntil(t *testing.T, a *Agent, logs *cluster.SafeBuffer, line string) {
	t.Helper()
	payload := bytes.Repeat([]byte("x"), 8000)
	deadline := time.Now().Add(60 * time.Second)
	for i := 0; !strings.Contains(logs.String(), line); i++ {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the log after 60s of events", line)
		}
		if err := a.UserEvent(fmt.Sprintf("f%d", i), payload, false); err != nil {
			t.Fatal(err)
		}
	}
}

// handlerCount is how many event handlers the agent has.
func handlerCount(a *Agent) int {
	a.handlersLock.Lock()
	defer a.handlersLock.Unlock()
	return len(a.handlers)
}

// logHandlerCount is how many handlers the log ring has.
func logHandlerCount(r *LogRing) int {
	r.lock.Lock()
	defer r.lock.Unlock()
	return len(r.handlers)
}

// breakStream opens a stream with command and req (sequence 1) on a new
// connection, stops reading it and floods the agent until a write to it
// fails with the log line failed.
func breakStream(t *testing.T, a *Agent, srv *RPCServer, addr string, logs *cluster.SafeBuffer, command string, req any, failed string) {
	t.Helper()
	r := dialRaw(t, addr)
	r.handshake()
	r.send(command, 1, req)
	r.expect(1, "")
	stopReading(t, r, onlyClient(t, srv))
	floodUntil(t, a, logs, failed)
}

// waitHandlers waits until count, the number of what handlers, is want.
func waitHandlers(t *testing.T, what string, count func() int, want int) {
	t.Helper()
	wait.For(t, 10*time.Second, func() error {
		if n := count(); n != want {
			return fmt.Errorf("%d %s handlers after the failed write, want %d", n, what, want)
		}
		return nil
	})
}

// A stream whose write fails is deregistered at once, as the connection
// can no longer carry it: later events are not queued for it, so there
// is no "Dropping event" warning for each of them (Serf keeps the stream
// and warns for every event until the client hangs up).
func TestRPCFailedStreamIsDeregistered(t *testing.T) {
	a, srv, addr, logs := rpcTestServer(t, 100*time.Millisecond)
	before := handlerCount(a)
	breakStream(t, a, srv, addr, logs, client.StreamCommand, &client.StreamRequest{Type: "user"},
		"[ERR] agent.ipc: Failed to stream event to ")
	waitHandlers(t, "event", func() int { return handlerCount(a) }, before)
	drops := strings.Count(logs.String(), "Dropping event to")
	for i := range rpcStreamBuffer + 100 {
		if err := a.UserEvent(fmt.Sprintf("after%d", i), nil, false); err != nil {
			t.Fatal(err)
		}
	}
	last := fmt.Sprintf("[INFO] agent: Received event: user-event: after%d\n", rpcStreamBuffer+99)
	wait.For(t, 30*time.Second, func() error {
		if !strings.Contains(logs.String(), last) {
			return fmt.Errorf("the agent has not handled the last event yet")
		}
		return nil
	})
	if n := strings.Count(logs.String(), "Dropping event to") - drops; n != 0 {
		t.Errorf("%d \"Dropping event to\" warnings after the stream failed, want none", n)
	}
	stillServes(t, addr)
}

// A monitor whose write fails is deregistered from the log ring.
func TestRPCFailedMonitorIsDeregistered(t *testing.T) {
	a, srv, addr, logs := rpcTestServer(t, 100*time.Millisecond)
	breakStream(t, a, srv, addr, logs, client.MonitorCommand, &client.MonitorRequest{LogLevel: "DEBUG"},
		"[ERR] agent.ipc: Failed to stream log to ")
	waitHandlers(t, "log", func() int { return logHandlerCount(srv.logs) }, 0)
	stillServes(t, addr)
}

// The timer that forgets a delivered query at its deadline ends with the
// connection, instead of holding the closed connection until then.
func TestRPCQueryTimersEndWithConnection(t *testing.T) {
	a, srv, addr, _ := rpcTestServer(t, rpcWriteTimeout)
	r := dialRaw(t, addr)
	r.handshake()
	r.send(client.StreamCommand, 1, &client.StreamRequest{Type: "query"})
	r.expect(1, "")
	c := onlyClient(t, srv)
	if _, err := a.Query("slow", nil, &serf.QueryParam{Timeout: time.Hour}); err != nil {
		t.Fatalf("Query() error: %v", err)
	}
	r.expect(1, "")
	var rec client.QueryEventRecord
	if err := r.dec.Decode(&rec); err != nil || rec.Name != "slow" {
		t.Fatalf("query record = %+v, %v", rec, err)
	}
	c.lock.Lock()
	p := c.queries[rec.ID]
	c.lock.Unlock()
	if p == nil {
		t.Fatalf("query %d not pending on the connection", rec.ID)
	}

	r.conn.Close()
	wait.For(t, 10*time.Second, func() error {
		srv.lock.Lock()
		defer srv.lock.Unlock()
		if len(srv.clients) != 0 {
			return fmt.Errorf("connection not torn down yet")
		}
		return nil
	})
	if p.expiry.Stop() {
		t.Error("the query's timer was still pending after its connection closed")
	}
	c.lock.Lock()
	defer c.lock.Unlock()
	if len(c.queries) != 0 {
		t.Errorf("%d queries kept by a closed connection, want 0", len(c.queries))
	}
}

// An acked query's stream ends with "done" as soon as every selected
// member has acked and responded; one whose handler stays silent runs to
// its deadline.
func TestRPCQueryEndsWhenAnswered(t *testing.T) {
	_, addr, _ := rpcTestAgentWith(t, "", Options{EventHandlers: []string{"query:up=echo up"}})
	c, err := client.NewRPCClient(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })

	tests := []struct {
		name      string
		timeout   time.Duration
		responses int
		early     bool
	}{
		{"up", time.Hour, 1, true},
		{"silent", 700 * time.Millisecond, 0, false},
	}
	for _, tc := range tests {
		ackCh := make(chan string, 4)
		respCh := make(chan client.NodeResponse, 4)
		start := time.Now()
		err := c.Query(&client.QueryParam{Name: tc.name, RequestAck: true, Timeout: tc.timeout, AckCh: ackCh, RespCh: respCh})
		if err != nil {
			t.Fatalf("Query(%s) error: %v", tc.name, err)
		}
		var acks, responses int
		wait.Drain(t, 30*time.Second, "Query("+tc.name+")", ackCh, respCh,
			func(string) { acks++ }, func(client.NodeResponse) { responses++ })
		if acks != 1 || responses != tc.responses {
			t.Errorf("Query(%s): %d acks, %d responses, want 1 and %d", tc.name, acks, responses, tc.responses)
		}
		if took := time.Since(start); !tc.early && took < tc.timeout {
			t.Errorf("Query(%s) done after %v, before its %v timeout", tc.name, took, tc.timeout)
		}
	}
}
