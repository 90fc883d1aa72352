package client

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/openserf/serf/internal/testutil/syncbuf"
	"github.com/openserf/serf/internal/testutil/wait"
)

// Every goroutine a client starts must be gone once Close returns and
// the tests' cleanups have run.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testTimeout is the client timeout for tests that do not wait for it to
// expire; shortTimeout is for those that do.
const (
	testTimeout  = 10 * time.Second
	shortTimeout = 250 * time.Millisecond
)

// recv receives one value from ch or fails the test after a while.
func recv[T any](tb testing.TB, ch <-chan T) (T, bool) {
	tb.Helper()
	select {
	case v, ok := <-ch:
		return v, ok
	case <-time.After(testTimeout):
		tb.Fatalf("nothing received on %T after %v", ch, testTimeout)
	}
	var zero T
	return zero, false
}

// drainQuery reads a query's acks and responses until the client closes
// both channels, as it does after the agent's done record.
func drainQuery(ackCh <-chan string, respCh <-chan NodeResponse) ([]string, []NodeResponse) {
	var acks []string
	for a := range ackCh {
		acks = append(acks, a)
	}
	var resps []NodeResponse
	for r := range respCh {
		resps = append(resps, r)
	}
	return acks, resps
}

// isClosed reports whether ch is closed and empty, without waiting.
func isClosed[T any](ch <-chan T) bool {
	select {
	case _, ok := <-ch:
		return !ok
	default:
		return false
	}
}

func TestConnectAndCalls(t *testing.T) {
	fa := newFakeAgent(t, "")
	c := fa.client(t, Config{Timeout: testTimeout})

	members, err := c.Members()
	if err != nil || !reflect.DeepEqual(members, fakeMembers) {
		t.Errorf("Members() = %+v, %v, want %+v, nil", members, err, fakeMembers)
	}
	members, err = c.MembersFiltered(map[string]string{"role": "web"}, "alive", "nx")
	if err != nil || len(members) != 0 {
		t.Errorf("MembersFiltered(name nx) = %+v, %v, want none", members, err)
	}
	n, err := c.Join([]string{"a", "b"}, true)
	if n != 2 || err != nil {
		t.Errorf("Join(a, b) = %d, %v, want 2, nil", n, err)
	}
	n, err = c.Join([]string{"a", "bad"}, false)
	if want := "1 error occurred:\n\t* failed to join bad\n\n"; n != 1 || err == nil || err.Error() != want {
		t.Errorf("Join(a, bad) = %d, %v, want 1, %q (the body comes with the error)", n, err, want)
	}
	if err := c.UserEvent("deploy", []byte("v1"), true); err != nil {
		t.Errorf("UserEvent() = %v", err)
	}
	if err := c.ForceLeave("n2"); err != nil {
		t.Errorf("ForceLeave() = %v", err)
	}
	if err := c.ForceLeavePrune("n2"); err != nil {
		t.Errorf("ForceLeavePrune() = %v", err)
	}
	if err := c.UpdateTags(map[string]string{"a": "b"}, []string{"c"}); err != nil {
		t.Errorf("UpdateTags() = %v", err)
	}
	msgs, err := c.InstallKey("k")
	if err != nil || len(msgs) != 0 {
		t.Errorf("InstallKey() = %v, %v, want no messages, nil", msgs, err)
	}
	msgs, err = c.UseKey("bad")
	if err == nil || err.Error() != "1/2 nodes reported failure" || msgs["n2"] != "key size must be 16, 24 or 32 bytes" {
		t.Errorf("UseKey(bad) = %v, %v, want n2's message and 1/2 nodes reported failure", msgs, err)
	}
	if _, err := c.RemoveKey("k"); err != nil {
		t.Errorf("RemoveKey() = %v", err)
	}
	keys, num, msgs, err := c.ListKeys()
	if err != nil || num != 2 || keys["a2V5"] != 2 || len(msgs) != 0 {
		t.Errorf("ListKeys() = %v, %d, %v, %v, want {a2V5: 2}, 2, none, nil", keys, num, msgs, err)
	}
	stats, err := c.Stats()
	if err != nil || stats["agent"]["name"] != "n1" {
		t.Errorf("Stats() = %v, %v, want agent name n1", stats, err)
	}
	coord, err := c.GetCoordinate("n1")
	if err != nil || coord == nil || !slices.Equal(coord.Vec, []float64{0.5, -0.25}) || coord.Error != 1.5 {
		t.Errorf("GetCoordinate(n1) = %+v, %v, want the fake's coordinate", coord, err)
	}
	coord, err = c.GetCoordinate("zz")
	if coord != nil || err != nil {
		t.Errorf("GetCoordinate(zz) = %+v, %v, want nil, nil", coord, err)
	}
	if err := c.Respond(1, []byte("x")); err != nil {
		t.Errorf("Respond(1) = %v", err)
	}
	if err := c.Respond(2, nil); !errors.Is(err, ErrInvalidQueryID) {
		t.Errorf("Respond(2) = %v, want %v", err, ErrInvalidQueryID)
	}
	if err := c.Leave(); err != nil {
		t.Errorf("Leave() = %v", err)
	}
	// The fake hangs up after leave, as the agent does.
	waitClosed(t, c)
	if _, err := c.Members(); !errors.Is(err, ErrClosed) {
		t.Errorf("Members() after the agent left = %v, want ErrClosed", err)
	}
}

// waitClosed waits until c has noticed that its connection is gone.
func waitClosed(tb testing.TB, c *RPCClient) {
	tb.Helper()
	wait.For(tb, testTimeout, func() error {
		if !c.IsClosed() {
			return errors.New("IsClosed() = false, want true")
		}
		return nil
	})
}

func TestDialError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = NewRPCClient(addr)
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Fatalf("NewRPCClient(closed port) = %v, want the dial's *net.OpError as it is", err)
	}
	if _, err := ClientFromConfig(nil); err == nil {
		t.Errorf("ClientFromConfig(nil) = nil error, want one")
	}
	if _, err := ClientFromConfig(&Config{Addr: addr, Timeout: -1}); err == nil {
		t.Errorf("ClientFromConfig(Timeout -1) = nil error, want one")
	}
}

func TestConfigNotModified(t *testing.T) {
	fa := newFakeAgent(t, "")
	conf := &Config{Addr: fa.addr()}
	c, err := ClientFromConfig(conf)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if conf.Timeout != 0 {
		t.Errorf("ClientFromConfig set Config.Timeout to %v, want it untouched", conf.Timeout)
	}
	if c.timeout != DefaultTimeout {
		t.Errorf("client timeout = %v, want %v", c.timeout, DefaultTimeout)
	}
}

func TestAuth(t *testing.T) {
	for _, fresh := range []bool{false, true} {
		t.Run(fmt.Sprintf("freshHeader=%v", fresh), func(t *testing.T) {
			testAuth(t, fresh)
		})
	}
}

func testAuth(t *testing.T, freshHeader bool) {
	fa := newFakeAgent(t, "secret")
	fa.mu.Lock()
	fa.freshHeader = freshHeader
	fa.mu.Unlock()

	_, err := ClientFromConfig(&Config{Addr: fa.addr(), AuthKey: "wrong"})
	if err == nil || err.Error() != "Invalid authentication token" || !errors.Is(err, ErrInvalidAuthToken) {
		t.Errorf("ClientFromConfig(wrong key) = %v, want %q", err, ErrInvalidAuthToken)
	}

	c := fa.client(t, Config{Timeout: testTimeout, AuthKey: "secret"})
	if _, err := c.Members(); err != nil {
		t.Errorf("Members() with the right key = %v", err)
	}

	// Without auth every command is refused, with no body.
	noAuth := fa.client(t, Config{Timeout: testTimeout})
	if _, err := noAuth.Members(); err == nil || err.Error() != "Authentication required" {
		t.Errorf("Members() without auth = %v, want %q", err, ErrAuthRequired)
	}
	if _, err := noAuth.Stats(); !errors.Is(err, ErrAuthRequired) {
		t.Errorf("Stats() without auth = %v, want %q", err, ErrAuthRequired)
	}
	// A refused request's body is left unread; the agent then answers it
	// as a header of its own, a second refusal with the same Seq. The
	// client must stay in step.
	if _, err := noAuth.MembersFiltered(nil, "", "n1"); !errors.Is(err, ErrAuthRequired) {
		t.Errorf("MembersFiltered() without auth = %v, want %q", err, ErrAuthRequired)
	}
	if _, err := noAuth.Join([]string{"x"}, false); !errors.Is(err, ErrAuthRequired) {
		t.Errorf("Join() without auth = %v, want %q", err, ErrAuthRequired)
	}
	if _, err := noAuth.Members(); !errors.Is(err, ErrAuthRequired) {
		t.Errorf("Members() after refused bodies = %v, want %q", err, ErrAuthRequired)
	}
	if _, err := noAuth.Monitor("info", make(chan string)); !errors.Is(err, ErrAuthRequired) {
		t.Errorf("Monitor() without auth = %v, want %q", err, ErrAuthRequired)
	}
	if _, err := noAuth.Members(); !errors.Is(err, ErrAuthRequired) {
		t.Errorf("Members() after a refused monitor = %v, want %q", err, ErrAuthRequired)
	}
	if noAuth.IsClosed() {
		t.Errorf("client closed after the repeated refusals, want it open")
	}
}

func TestHandshakeRefused(t *testing.T) {
	fa := newFakeAgent(t, "")
	fa.handle(HandshakeCommand, func(fc *fakeConn, seq uint64) bool {
		var req HandshakeRequest
		return fc.body(&req) && fc.reply(seq, string(ErrUnsupportedIPCVersion), nil)
	})
	_, err := NewRPCClient(fa.addr())
	if !errors.Is(err, ErrUnsupportedIPCVersion) {
		t.Errorf("NewRPCClient() = %v, want %q", err, ErrUnsupportedIPCVersion)
	}
}

// TestConcurrentCalls answers a batch of concurrent calls in reverse order:
// each must get its own reply.
func TestConcurrentCalls(t *testing.T) {
	const n = 40
	fa := newFakeAgent(t, "")
	type held struct {
		seq  uint64
		node string
	}
	var batch []held
	fa.handle(GetCoordinateCommand, func(fc *fakeConn, seq uint64) bool {
		var req CoordinateRequest
		if !fc.body(&req) {
			return false
		}
		batch = append(batch, held{seq, req.Node})
		if len(batch) < n {
			return true
		}
		for i := len(batch) - 1; i >= 0; i-- {
			b := batch[i]
			var height float64
			fmt.Sscanf(b.node, "n%g", &height)
			if !fc.reply(b.seq, "", &CoordinateResponse{Coord: Coordinate{Height: height}, Ok: true}) {
				return false
			}
		}
		batch = nil
		return true
	})
	c := fa.client(t, Config{Timeout: testTimeout})

	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			coord, err := c.GetCoordinate(fmt.Sprintf("n%d", i))
			if err != nil || coord == nil || coord.Height != float64(i) {
				t.Errorf("GetCoordinate(n%d) = %+v, %v, want height %d", i, coord, err, i)
			}
		}()
	}
	wg.Wait()
	// Seqs rise on the wire, one per request, from 1: handshake, then n.
	c.writeLock.Lock()
	if c.seq != n+1 {
		t.Errorf("last Seq = %d, want %d", c.seq, n+1)
	}
	c.writeLock.Unlock()
}

// TestTimeoutThenLateReply lets a call time out, then sends its reply,
// body and all: the client must read past it and stay usable.
func TestTimeoutThenLateReply(t *testing.T) {
	fa := newFakeAgent(t, "")
	heldCh := make(chan func(), 1)
	fa.handle(StatsCommand, func(fc *fakeConn, seq uint64) bool {
		heldCh <- func() {
			fc.reply(seq, "", map[string]map[string]string{"late": {"a": "b"}})
		}
		return true
	})
	c := fa.client(t, Config{Timeout: testTimeout})
	c.timeout = shortTimeout // after the handshake, which must not time out

	start := time.Now()
	if _, err := c.Stats(); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Stats() = %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d < shortTimeout {
		t.Errorf("Stats() gave up after %v, want at least %v", d, shortTimeout)
	}
	sendLate, _ := recv(t, heldCh)
	sendLate()
	members, err := c.Members()
	if err != nil || !reflect.DeepEqual(members, fakeMembers) {
		t.Errorf("Members() after a late reply = %+v, %v, want %+v, nil", members, err, fakeMembers)
	}
}

// TestSlowCommandHoldsLaterTimeouts checks that a call queued behind a
// join the agent is still working on does not time out meanwhile: the
// agent answers one connection's requests in order.
func TestSlowCommandHoldsLaterTimeouts(t *testing.T) {
	fa := newFakeAgent(t, "")
	joinSeen := make(chan struct{})
	release := make(chan struct{})
	fa.handle(JoinCommand, func(fc *fakeConn, seq uint64) bool {
		var req JoinRequest
		if !fc.body(&req) {
			return false
		}
		close(joinSeen)
		<-release
		return fc.reply(seq, "", &JoinResponse{Num: 1})
	})
	c := fa.client(t, Config{Timeout: testTimeout})
	c.timeout = shortTimeout // after the handshake, which must not time out

	joinErr := make(chan error, 1)
	go func() {
		_, err := c.Join([]string{"x"}, false)
		joinErr <- err
	}()
	recv(t, joinSeen)
	membersErr := make(chan error, 1)
	go func() {
		_, err := c.Members()
		membersErr <- err
	}()
	// Hold the join well past the timeout.
	select {
	case err := <-membersErr:
		t.Fatalf("Members() behind a pending join returned %v early, want it to wait", err)
	case <-time.After(3 * shortTimeout):
	}
	close(release)
	if err, _ := recv(t, joinErr); err != nil {
		t.Errorf("Join() = %v", err)
	}
	if err, _ := recv(t, membersErr); err != nil {
		t.Errorf("Members() after the join = %v, want nil", err)
	}
}

func TestStreamDeliveryAndStop(t *testing.T) {
	fa := newFakeAgent(t, "")
	connCh := make(chan *fakeConn, 1)
	streamSeq := make(chan uint64, 1)
	fa.handle(StreamCommand, func(fc *fakeConn, seq uint64) bool {
		var req StreamRequest
		if !fc.body(&req) || !fc.reply(seq, "", nil) {
			return false
		}
		connCh <- fc
		streamSeq <- seq
		return true
	})
	stopped := make(chan uint64, 1)
	// Records the agent had queued still follow the stop reply.
	late := &UserEventRecord{Event: "user", Name: "late"}
	fa.handleStop(stopped, late, late)
	c := fa.client(t, Config{Timeout: testTimeout})

	ch := make(chan map[string]interface{})
	h, err := c.Stream("user", ch)
	if err != nil {
		t.Fatalf("Stream() = %v", err)
	}
	fc, _ := recv(t, connCh)
	seq, _ := recv(t, streamSeq)
	if uint64(h) != seq {
		t.Errorf("StreamHandle = %d, want the request's Seq %d", h, seq)
	}
	fc.reply(seq, "", &UserEventRecord{Event: "user", LTime: 3, Name: "deploy", Payload: []byte("v1")})
	fc.reply(seq, "", &MemberEventRecord{Event: "member-join", Members: fakeMembers})

	rec, _ := recv(t, ch)
	if rec["Event"] != "user" || rec["Name"] != "deploy" || string(rec["Payload"].([]byte)) != "v1" || rec["Coalesce"] != false {
		t.Errorf("user event record = %#v", rec)
	}
	if lt := fmt.Sprint(rec["LTime"]); lt != "3" {
		t.Errorf("LTime = %v, want 3", rec["LTime"])
	}
	rec, _ = recv(t, ch)
	if rec["Event"] != "member-join" {
		t.Errorf("member event record = %#v", rec)
	}
	if ms, ok := rec["Members"].([]interface{}); !ok || len(ms) != 1 {
		t.Errorf("Members = %#v, want one member", rec["Members"])
	}

	if err := c.Stop(h); err != nil {
		t.Errorf("Stop() = %v", err)
	}
	if !isClosed(ch) {
		t.Errorf("stream channel open after Stop returned, want closed")
	}
	if got, _ := recv(t, stopped); got != seq {
		t.Errorf("stop request for %d, want %d", got, seq)
	}
	// The records that follow the stop are read and thrown away.
	if _, err := c.Members(); err != nil {
		t.Errorf("Members() after Stop = %v", err)
	}
}

func TestStreamErrors(t *testing.T) {
	fa := newFakeAgent(t, "")
	c := fa.client(t, Config{Timeout: testTimeout})
	ch := make(chan map[string]interface{}, 1)
	if _, err := c.Stream("foo", ch); !errors.Is(err, ErrInvalidFilter) {
		t.Errorf("Stream(foo) = %v, want %q", err, ErrInvalidFilter)
	}
	if isClosed(ch) {
		t.Errorf("channel closed after a failed Stream, want it left alone")
	}
	logCh := make(chan string, 1)
	_, err := c.Monitor("foo", logCh)
	if err == nil || err.Error() != "Unknown log level: FOO" {
		t.Errorf("Monitor(foo) = %v, want Unknown log level: FOO", err)
	}
	if isClosed(logCh) {
		t.Errorf("channel closed after a failed Monitor, want it left alone")
	}
}

// TestSlowConsumer fills a stream whose consumer does not read: the
// reader must go on serving calls, the stream keeps its first records in
// order and drops and counts the rest.
func TestSlowConsumer(t *testing.T) {
	const sent = 700
	fa := newFakeAgent(t, "")
	fa.handle(MonitorCommand, func(fc *fakeConn, seq uint64) bool {
		var req MonitorRequest
		if !fc.body(&req) || !fc.reply(seq, "", nil) {
			return false
		}
		for i := range sent {
			if !fc.reply(seq, "", &LogRecord{Log: fmt.Sprint(i)}) {
				return false
			}
		}
		return true
	})
	c := fa.client(t, Config{Timeout: testTimeout})
	logCh := make(chan string)
	h, err := c.Monitor("debug", logCh)
	if err != nil {
		t.Fatalf("Monitor() = %v", err)
	}
	// The agent answers in order, so once this returns every log record
	// has been read.
	if _, err := c.Members(); err != nil {
		t.Fatalf("Members() behind a stuck consumer = %v", err)
	}
	dropped := int(c.Dropped())
	if dropped < sent-streamBuffer-1 || dropped > sent-streamBuffer {
		t.Errorf("Dropped() = %d, want %d or %d", dropped, sent-streamBuffer-1, sent-streamBuffer)
	}
	// The first records are kept; which later ones fit depends on when
	// the delivery goroutine took its first one, but order holds.
	last := -1
	for i := range sent - dropped {
		line, _ := recv(t, logCh)
		var n int
		fmt.Sscan(line, &n)
		if n <= last || (i < streamBuffer && n != i) {
			t.Fatalf("log line %d = %q after %d, want records in order, the first %d all there", i, line, last, streamBuffer)
		}
		last = n
	}
	if err := c.Stop(h); err != nil {
		t.Errorf("Stop() = %v", err)
	}
	if _, ok := <-logCh; ok {
		t.Errorf("log channel delivered more than %d lines, want it closed", sent-dropped)
	}
}

func TestQuery(t *testing.T) {
	fa := newFakeAgent(t, "")
	var got QueryRequest
	fa.handle(QueryCommand, func(fc *fakeConn, seq uint64) bool {
		if !fc.body(&got) || !fc.reply(seq, "", nil) {
			return false
		}
		for _, rec := range []QueryRecord{
			{Type: QueryRecordAck, From: "n1"},
			{Type: QueryRecordAck, From: "n2"},
			{Type: QueryRecordResponse, From: "n1", Payload: []byte("hi\n")},
			// What the agent can emit as its channels close.
			{Type: QueryRecordAck},
			{Type: QueryRecordResponse},
			{Type: QueryRecordDone},
		} {
			if !fc.reply(seq, "", &rec) {
				return false
			}
		}
		return true
	})
	c := fa.client(t, Config{Timeout: testTimeout})

	ackCh := make(chan string, 8)
	respCh := make(chan NodeResponse, 8)
	err := c.Query(&QueryParam{
		FilterNodes: []string{"n1", "n2"},
		FilterTags:  map[string]string{"role": "w.*"},
		RequestAck:  true,
		RelayFactor: 2,
		Timeout:     3 * time.Second,
		Name:        "q",
		Payload:     []byte("p"),
		AckCh:       ackCh,
		RespCh:      respCh,
	})
	if err != nil {
		t.Fatalf("Query() = %v", err)
	}
	acks, resps := drainQuery(ackCh, respCh)
	if !slices.Equal(acks, []string{"n1", "n2"}) {
		t.Errorf("acks = %q, want [n1 n2]", acks)
	}
	if want := []NodeResponse{{From: "n1", Payload: []byte("hi\n")}}; !reflect.DeepEqual(resps, want) {
		t.Errorf("responses = %+v, want %+v", resps, want)
	}
	want := QueryRequest{
		FilterNodes: []string{"n1", "n2"}, FilterTags: map[string]string{"role": "w.*"},
		RequestAck: true, RelayFactor: 2, Timeout: 3 * time.Second, Name: "q", Payload: []byte("p"),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("agent got %+v, want %+v", got, want)
	}

	// Nil channels ignore their records.
	if err := c.Query(&QueryParam{Name: "q"}); err != nil {
		t.Errorf("Query(no channels) = %v", err)
	}
	if _, err := c.Members(); err != nil {
		t.Errorf("Members() after queries = %v", err)
	}
	if err := c.Query(nil); err == nil {
		t.Errorf("Query(nil) = nil error, want one")
	}
}

// TestStreamStartsAfterTimeout lets a stream's first header come after
// the caller gave up: the client must stop the stream it never handed out
// and drop its records.
func TestStreamStartsAfterTimeout(t *testing.T) {
	fa := newFakeAgent(t, "")
	heldCh := make(chan func(), 1)
	fa.handle(StreamCommand, func(fc *fakeConn, seq uint64) bool {
		var req StreamRequest
		if !fc.body(&req) {
			return false
		}
		heldCh <- func() {
			fc.reply(seq, "", nil)
			fc.reply(seq, "", &UserEventRecord{Event: "user", Name: "x"})
		}
		return true
	})
	stopped := make(chan uint64, 1)
	fa.handleStop(stopped)
	c := fa.client(t, Config{Timeout: testTimeout})
	c.timeout = shortTimeout // after the handshake, which must not time out
	ch := make(chan map[string]interface{}, 1)
	if _, err := c.Stream("*", ch); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Stream() = %v, want ErrTimeout", err)
	}
	start, _ := recv(t, heldCh)
	start()
	if got, _ := recv(t, stopped); got != 2 {
		t.Errorf("stop for Seq %d, want 2 (the stream's)", got)
	}
	if _, err := c.Members(); err != nil {
		t.Errorf("Members() = %v", err)
	}
	if len(ch) != 0 || isClosed(ch) {
		t.Errorf("abandoned stream touched its channel, want it left alone")
	}
}

// TestAgentHangsUp closes the connection under a pending call and a
// running stream.
func TestAgentHangsUp(t *testing.T) {
	fa := newFakeAgent(t, "")
	fa.handle(StatsCommand, func(fc *fakeConn, seq uint64) bool {
		fc.reply(seq-1, "", &LogRecord{Log: "last"})
		return false
	})
	c := fa.client(t, Config{Timeout: testTimeout})
	logCh := make(chan string, 4)
	if _, err := c.Monitor("info", logCh); err != nil {
		t.Fatalf("Monitor() = %v", err)
	}
	_, err := c.Stats()
	if !errors.Is(err, ErrClosed) || err.Error() != "client closed" {
		t.Errorf("Stats() when the agent hangs up = %v, want ErrClosed, \"client closed\"", err)
	}
	if !errors.Is(err, io.EOF) {
		t.Errorf("Stats() = %v, want it to unwrap to io.EOF", err)
	}
	// The record sent before hanging up is still delivered, then the
	// channel closes.
	if line, ok := recv(t, logCh); line != "last" || !ok {
		t.Errorf("log line = %q, %v, want \"last\"", line, ok)
	}
	if _, ok := recv(t, logCh); ok {
		t.Errorf("log channel still open after the agent hung up")
	}
	if !c.IsClosed() {
		t.Errorf("IsClosed() = false after the agent hung up")
	}
	if err := c.UserEvent("x", nil, false); !errors.Is(err, ErrClosed) {
		t.Errorf("UserEvent() on a closed client = %v, want ErrClosed", err)
	}
}

func TestUnknownSeqClosesClient(t *testing.T) {
	fa := newFakeAgent(t, "")
	fa.handle(StatsCommand, func(fc *fakeConn, seq uint64) bool {
		return fc.reply(seq+100, "", nil)
	})
	c := fa.client(t, Config{Timeout: testTimeout})
	_, err := c.Stats()
	if !errors.Is(err, ErrClosed) {
		t.Errorf("Stats() = %v, want ErrClosed", err)
	}
	if cause := errors.Unwrap(err); cause == nil {
		t.Errorf("Stats() = %v, want it to unwrap to the protocol error", err)
	}
}

func TestCloseFailsPending(t *testing.T) {
	fa := newFakeAgent(t, "")
	seen := make(chan struct{}, 2)
	hold := func(fc *fakeConn, seq uint64) bool {
		var req JoinRequest
		fc.body(&req)
		seen <- struct{}{}
		return true
	}
	fa.handle(JoinCommand, hold)
	fa.handle(StatsCommand, func(fc *fakeConn, seq uint64) bool {
		seen <- struct{}{}
		return true
	})
	c := fa.client(t, Config{Timeout: testTimeout})
	qch := make(chan string)
	if _, err := c.Monitor("info", qch); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	go func() {
		_, err := c.Join([]string{"x"}, false)
		errs <- err
	}()
	go func() {
		_, err := c.Stats()
		errs <- err
	}()
	recv(t, seen)
	recv(t, seen)
	if err := c.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
	for range 2 {
		if err, _ := recv(t, errs); !errors.Is(err, ErrClosed) || errors.Unwrap(err) != nil {
			t.Errorf("pending call after Close = %v, want ErrClosed without a cause", err)
		}
	}
	if !isClosed(qch) {
		t.Errorf("monitor channel open after Close returned")
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close() = %v", err)
	}
	if err := c.Stop(1); !errors.Is(err, ErrClosed) {
		t.Errorf("Stop() after Close = %v, want ErrClosed", err)
	}
}

// TestCloseWithBlockedConsumer checks that Close does not wait for a
// consumer that never reads.
func TestCloseWithBlockedConsumer(t *testing.T) {
	fa := newFakeAgent(t, "")
	fa.handle(MonitorCommand, func(fc *fakeConn, seq uint64) bool {
		var req MonitorRequest
		return fc.body(&req) && fc.reply(seq, "", nil) &&
			fc.reply(seq, "", &LogRecord{Log: "a"}) && fc.reply(seq, "", &LogRecord{Log: "b"})
	})
	c := fa.client(t, Config{Timeout: testTimeout})
	logCh := make(chan string)
	if _, err := c.Monitor("info", logCh); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Members(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if !isClosed(logCh) {
		t.Errorf("log channel open after Close returned")
	}
}

func TestUnsupportedCommandHangsUp(t *testing.T) {
	fa := newFakeAgent(t, "")
	c := fa.client(t, Config{Timeout: testTimeout})
	_, err := c.roundTrip("bogus", nil, nil)
	if !errors.Is(err, ErrUnsupportedCommand) {
		t.Errorf("bogus command = %v, want %q", err, ErrUnsupportedCommand)
	}
	waitClosed(t, c)
}

// TestWriteDeadline sends a request the agent does not read: the write
// must give up after the timeout and close the client, since a partly
// written frame cannot be taken back.
func TestWriteDeadline(t *testing.T) {
	fa := newFakeAgent(t, "")
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	fa.handle(EventCommand, func(fc *fakeConn, seq uint64) bool {
		<-release
		return false
	})
	c := fa.client(t, Config{Timeout: testTimeout})
	c.timeout = shortTimeout // after the handshake, which must not time out
	err := c.UserEvent("big", make([]byte, 64<<20), false)
	var netErr net.Error
	if !errors.As(err, &netErr) || !netErr.Timeout() {
		t.Errorf("UserEvent(64 MiB, unread) = %v, want a write timeout", err)
	}
	if !c.IsClosed() {
		t.Errorf("client open after a failed write, want it closed")
	}
	if _, err := c.Members(); !errors.Is(err, ErrClosed) || !errors.As(err, &netErr) {
		t.Errorf("Members() after a failed write = %v, want ErrClosed wrapping the write error", err)
	}
}

// captureStdLog sends the standard logger, which the client logs to as
// Serf's does, to a buffer for the rest of the test.
func captureStdLog(t *testing.T) *syncbuf.Buffer {
	t.Helper()
	var buf syncbuf.Buffer
	out, flags := log.Writer(), log.Flags()
	log.SetOutput(&buf)
	log.SetFlags(0)
	t.Cleanup(func() {
		log.SetOutput(out)
		log.SetFlags(flags)
	})
	return &buf
}

// TestLogsAsSerf checks the lines Serf's client logs: an agent that hangs
// up is reported, a client closed by its owner is not, and a dropped
// record says which kind it was.
func TestLogsAsSerf(t *testing.T) {
	logs := captureStdLog(t)
	fa := newFakeAgent(t, "")
	fa.handle(StatsCommand, func(fc *fakeConn, seq uint64) bool { return false })

	closed := fa.client(t, Config{Timeout: testTimeout})
	closed.Close()

	c := fa.client(t, Config{Timeout: testTimeout})
	if _, err := c.Stats(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Stats() from an agent that hung up = %v, want ErrClosed", err)
	}
	c.Close()
	if got, want := logs.String(), "[ERR] agent.client: Failed to decode response header: EOF\n"; got != want {
		t.Errorf("log = %q, want %q", got, want)
	}

	for _, tt := range []struct {
		item any
		want string
	}{
		{"a log line", "[ERR] Dropping log! Monitor channel full"},
		{map[string]interface{}{"Event": "user"}, "[ERR] Dropping event! Stream channel full"},
		{ackItem("n1"), "[ERR] Dropping query ack, channel full"},
		{NodeResponse{From: "n1"}, "[ERR] Dropping query response, channel full"},
	} {
		if got := dropMessage(tt.item); got != tt.want {
			t.Errorf("dropMessage(%T) = %q, want %q", tt.item, got, tt.want)
		}
	}
}

// TestRefusedStreamReturnsHandle: Serf's client returns the request's
// handle along with the agent's error when it refuses a monitor or a
// stream, and programs may pass it to Stop; ours does too.
func TestRefusedStreamReturnsHandle(t *testing.T) {
	fa := newFakeAgent(t, "")
	c := fa.client(t, Config{Timeout: testTimeout})
	h, err := c.Monitor("foo", make(chan string, 1))
	if err == nil || h == 0 {
		t.Errorf("Monitor(foo) = %d, %v, want a handle and an error", h, err)
	}
	h2, err := c.Stream("foo", make(chan map[string]interface{}, 1))
	if !errors.Is(err, ErrInvalidFilter) || h2 == 0 || h2 == h {
		t.Errorf("Stream(foo) = %d, %v, want a new handle and %q", h2, err, ErrInvalidFilter)
	}
}
