package client

import (
	"bufio"
	"errors"
	"fmt"
	"log"
	"maps"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/hashicorp/logutils"
)

// DefaultTimeout is Config.Timeout when it is zero, as in Serf's client.
const DefaultTimeout = 10 * time.Second

// ErrClosed is the error of calls made on, or pending when, a client is
// closed, by Close or because the connection failed. The error a pending
// call gets then says "client closed", Serf's wording, and unwraps to the
// connection's error (io.EOF when the agent hung up) when there is one.
var ErrClosed = errors.New("client closed")

// ErrTimeout is returned when the agent does not answer a request within
// Config.Timeout. The connection stays usable: a late answer is read and
// thrown away.
var ErrTimeout = errors.New("timeout waiting for a reply from the agent")

// Config says how ClientFromConfig connects. ClientFromConfig copies it.
type Config struct {
	// Addr is the agent's RPC address, host:port.
	Addr string

	// AuthKey, when not empty, is sent with auth right after the handshake;
	// it must match the agent's rpc_auth. Empty sends no auth.
	AuthKey string

	// Timeout bounds dialing, every write, and the wait for each reply
	// the agent gives without waiting on the cluster; zero means
	// DefaultTimeout. The replies to join, leave, force-leave, tags and
	// the key commands are awaited without a deadline: their duration is
	// set by the agent's own cluster timeouts (a join tries each address
	// in turn, a leave waits for two broadcasts), which can exceed it.
	// The wait for a reply starts once the agent has answered every
	// such slow request sent before it, because the agent handles one
	// connection's requests in order.
	Timeout time.Duration

	// MsgpackUseNewTimeFormat makes the client encode time.Time values in
	// msgpack's newer format, as the same field of Serf's client does. No
	// RPC request carries a time.Time, so it changes no byte the agent
	// sees; it exists so that programs written for Serf compile.
	MsgpackUseNewTimeFormat bool
}

// StreamHandle names a stream or monitor for Stop. It is the Seq of the
// request that opened it.
type StreamHandle uint64

// NodeResponse is one node's response to a query.
type NodeResponse struct {
	From    string
	Payload []byte
}

// QueryParam describes a query for Query.
type QueryParam struct {
	FilterNodes []string          // node names the query is limited to
	FilterTags  map[string]string // tag name to regular expression the nodes must match
	RequestAck  bool              // ask nodes to ack receipt
	RelayFactor uint8             // how many other nodes relay each response back
	Timeout     time.Duration     // how long the query runs; zero lets the agent choose
	Name        string
	Payload     []byte

	// AckCh receives the name of each node that acked, RespCh each
	// response. Either may be nil to ignore those records. Both are
	// closed once the query is done. See the package documentation for
	// how records are delivered.
	AckCh  chan<- string
	RespCh chan<- NodeResponse
}

// slowCommands are the commands whose reply waits on cluster work; see
// Config.Timeout.
var slowCommands = map[string]bool{
	JoinCommand:       true,
	LeaveCommand:      true,
	ForceLeaveCommand: true,
	TagsCommand:       true,
	InstallKeyCommand: true,
	UseKeyCommand:     true,
	RemoveKeyCommand:  true,
	ListKeysCommand:   true,
}

// RPCClient is a connection to a Serf agent's RPC port. It is safe for
// concurrent use; see the package documentation for its goroutines.
type RPCClient struct {
	conn    net.Conn
	timeout time.Duration
	handle  *codec.MsgpackHandle

	// logger gets the client's "[ERR] ..." lines, Serf's: a connection
	// lost under the client, records it could not decode or had to
	// drop. The standard logger, as in Serf's client; tests swap it.
	logger *log.Logger

	// writeLock serialises frames on conn. It is held while one frame is
	// written, with a write deadline, since the frame must go out whole:
	// it is the lock that orders the byte stream, not a state lock.
	writeLock sync.Mutex
	seq       uint64 // last Seq sent; guarded by writeLock, so Seqs rise on the wire

	dec *codec.Decoder // used only by the reader goroutine

	dispatchLock sync.Mutex
	dispatch     map[uint64]*pending    // open requests and streams by Seq; guarded by dispatchLock
	slow         map[uint64]struct{}    // Seqs of unanswered slow calls; guarded by dispatchLock
	slowIdle     chan struct{}          // closed and replaced when a slow call is answered; guarded by dispatchLock
	outs         map[*delivery]struct{} // running deliveries; guarded by dispatchLock
	closed       bool                   // guarded by dispatchLock
	closeErr     error                  // why; guarded by dispatchLock

	wg      sync.WaitGroup // the reader, deliveries and background stops
	dropped atomic.Uint64
}

// pendingKind says what a dispatch entry waits for.
type pendingKind uint8

const (
	kindCall    pendingKind = iota // one reply, maybe with a body
	kindMonitor                    // a reply, then LogRecords
	kindStream                     // a reply, then event records
	kindQuery                      // a reply, then QueryRecords up to done
	kindEcho                       // a second "Authentication required"; see expectEcho
)

// pending is a request waiting for its reply, or a stream, monitor or
// query receiving records. Entries live in RPCClient.dispatch.
type pending struct {
	kind    pendingKind
	command string
	seq     uint64 // set by send
	slow    bool
	hasBody bool // the request had a body; set by send

	// newBody returns what a call's reply body is decoded into.
	newBody func() any

	// replyCh gets exactly one reply for a call, or the result of the
	// first header for the other kinds, unless the caller abandoned it.
	// It has room for that one reply, so sending never blocks.
	replyCh chan reply

	// newOut makes the delivery of a stream's records, once it started.
	newOut func() *delivery

	// Guarded by RPCClient.dispatchLock.
	started   bool      // the first header has arrived
	abandoned bool      // the caller gave up waiting for the first header
	discard   bool      // records are read and thrown away (stopped or abandoned)
	out       *delivery // nil until started, and after Stop
}

type reply struct {
	body any
	err  error
}

// closedError is what calls fail with once the client is closed. It says
// "client closed", is ErrClosed, and unwraps to the cause.
type closedError struct {
	cause error // nil when Close was called
}

func (e *closedError) Error() string        { return ErrClosed.Error() }
func (e *closedError) Is(target error) bool { return target == ErrClosed }
func (e *closedError) Unwrap() error        { return e.cause }

// NewRPCClient connects to the agent at addr with the default timeout and
// no auth key.
func NewRPCClient(addr string) (*RPCClient, error) {
	return ClientFromConfig(&Config{Addr: addr})
}

// ClientFromConfig dials the agent, performs the handshake and, when an
// AuthKey is set, the auth. The errors are returned as they are, for
// "Error connecting to Serf agent: <err>": the dial error, or the agent's
// RemoteError such as ErrInvalidAuthToken.
func ClientFromConfig(conf *Config) (*RPCClient, error) {
	if conf == nil {
		return nil, errors.New("client: nil Config")
	}
	timeout := conf.Timeout
	if timeout < 0 {
		return nil, fmt.Errorf("client: Timeout is %v, want >= 0", timeout)
	}
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	conn, err := net.DialTimeout("tcp", conf.Addr, timeout)
	if err != nil {
		return nil, err
	}
	c := newRPCClient(conn, timeout, conf.MsgpackUseNewTimeFormat)
	if _, err := c.roundTrip(HandshakeCommand, &HandshakeRequest{Version: MaxIPCVersion}, nil); err != nil {
		c.Close()
		return nil, err
	}
	if conf.AuthKey != "" {
		if _, err := c.roundTrip(AuthCommand, &AuthRequest{AuthKey: conf.AuthKey}, nil); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// newRPCClient starts the reader on conn. The caller does the handshake.
func newRPCClient(conn net.Conn, timeout time.Duration, newTimeFormat bool) *RPCClient {
	handle := NewCodecHandle()
	handle.TimeNotBuiltin = !newTimeFormat
	c := &RPCClient{
		conn:     conn,
		timeout:  timeout,
		handle:   handle,
		logger:   log.Default(),
		dispatch: make(map[uint64]*pending),
		slow:     make(map[uint64]struct{}),
		slowIdle: make(chan struct{}),
		outs:     make(map[*delivery]struct{}),
	}
	c.dec = codec.NewDecoder(bufio.NewReader(conn), c.handle)
	c.wg.Add(1)
	go c.read()
	return c
}

// Close closes the connection, fails pending calls with an error that is
// ErrClosed, ends every stream, monitor and query (closing their
// channels, dropping records not yet delivered), and returns once all the
// client's goroutines have exited. It is idempotent and returns nil.
func (c *RPCClient) Close() error {
	c.fail(nil)
	c.dispatchLock.Lock()
	outs := slices.Collect(maps.Keys(c.outs))
	c.dispatchLock.Unlock()
	for _, d := range outs {
		d.stop()
	}
	c.wg.Wait()
	return nil
}

// IsClosed reports whether the client is closed, by Close or because the
// connection failed.
func (c *RPCClient) IsClosed() bool {
	c.dispatchLock.Lock()
	defer c.dispatchLock.Unlock()
	return c.closed
}

// Dropped returns how many stream, monitor and query records were thrown
// away because their consumer was too far behind.
func (c *RPCClient) Dropped() uint64 {
	return c.dropped.Load()
}

// Members returns every member the agent knows, including failed and
// left ones not yet reaped.
func (c *RPCClient) Members() ([]Member, error) {
	resp, err := call[MembersResponse](c, MembersCommand, nil)
	if resp == nil {
		return nil, err
	}
	return resp.Members, err
}

// MembersFiltered returns the members whose tags, status and name match
// the regular expressions given; the agent anchors each as "^expr$", and
// an empty status or name matches all. An invalid expression makes the
// agent hang up, so the error is then one of ErrClosed.
func (c *RPCClient) MembersFiltered(tags map[string]string, status, name string) ([]Member, error) {
	req := &MembersFilteredRequest{Tags: tags, Status: status, Name: name}
	resp, err := call[MembersResponse](c, MembersFilteredCommand, req)
	if resp == nil {
		return nil, err
	}
	return resp.Members, err
}

// Join asks the agent to join the nodes at addrs and returns how many it
// contacted, which can be more than zero along with an error. Replay
// asks for the user events sent before the join.
func (c *RPCClient) Join(addrs []string, replay bool) (int, error) {
	resp, err := call[JoinResponse](c, JoinCommand, &JoinRequest{Existing: addrs, Replay: replay})
	if resp == nil {
		return 0, err
	}
	return int(resp.Num), err
}

// Leave asks the agent to leave the cluster gracefully. The agent answers
// once it has left, then shuts down.
func (c *RPCClient) Leave() error {
	_, err := c.roundTrip(LeaveCommand, nil, nil)
	return err
}

// ForceLeave asks the agent to mark a failed node as left.
func (c *RPCClient) ForceLeave(node string) error {
	_, err := c.roundTrip(ForceLeaveCommand, &ForceLeaveRequest{Node: node}, nil)
	return err
}

// ForceLeavePrune is ForceLeave that also erases the node from the member
// list at once.
func (c *RPCClient) ForceLeavePrune(node string) error {
	_, err := c.roundTrip(ForceLeaveCommand, &ForceLeaveRequest{Node: node, Prune: true}, nil)
	return err
}

// UserEvent broadcasts a user event.
func (c *RPCClient) UserEvent(name string, payload []byte, coalesce bool) error {
	req := &EventRequest{Name: name, Payload: payload, Coalesce: coalesce}
	_, err := c.roundTrip(EventCommand, req, nil)
	return err
}

// UpdateTags sets the agent's tags to its current ones without those
// named in delete, overlaid with tags.
func (c *RPCClient) UpdateTags(tags map[string]string, delete []string) error {
	_, err := c.roundTrip(TagsCommand, &TagsRequest{Tags: tags, DeleteTags: delete}, nil)
	return err
}

// InstallKey installs a base64 key in every member's keyring. The map
// holds the error each failing node reported; it can be non-empty along
// with an error.
func (c *RPCClient) InstallKey(key string) (map[string]string, error) {
	return c.keyCommand(InstallKeyCommand, key)
}

// UseKey makes an installed base64 key the primary key on every member.
// See InstallKey for the map.
func (c *RPCClient) UseKey(key string) (map[string]string, error) {
	return c.keyCommand(UseKeyCommand, key)
}

// RemoveKey removes a base64 key from every member's keyring. See
// InstallKey for the map.
func (c *RPCClient) RemoveKey(key string) (map[string]string, error) {
	return c.keyCommand(RemoveKeyCommand, key)
}

func (c *RPCClient) keyCommand(command, key string) (map[string]string, error) {
	resp, err := call[KeyResponse](c, command, &KeyRequest{Key: key})
	if resp == nil {
		return nil, err
	}
	return resp.Messages, err
}

// ListKeys asks every member for its keys. It returns each base64 key
// with the number of members holding it, the number of members asked,
// and the errors of the nodes that failed, which can come along with an
// error.
func (c *RPCClient) ListKeys() (map[string]int, int, map[string]string, error) {
	resp, err := call[KeyResponse](c, ListKeysCommand, nil)
	if resp == nil {
		return nil, 0, nil, err
	}
	return resp.Keys, resp.NumNodes, resp.Messages, err
}

// Stats returns the agent's debugging information, section by section
// (agent, runtime, serf, tags, event_handlers).
func (c *RPCClient) Stats() (map[string]map[string]string, error) {
	resp, err := call[map[string]map[string]string](c, StatsCommand, nil)
	if resp == nil {
		return nil, err
	}
	return *resp, err
}

// GetCoordinate returns the agent's cached network coordinate of node,
// or nil with no error when it has none.
func (c *RPCClient) GetCoordinate(node string) (*Coordinate, error) {
	resp, err := call[CoordinateResponse](c, GetCoordinateCommand, &CoordinateRequest{Node: node})
	if err != nil || resp == nil || !resp.Ok {
		return nil, err
	}
	return &resp.Coord, nil
}

// Respond answers the query a stream reported with QueryEventRecord.ID id.
func (c *RPCClient) Respond(id uint64, payload []byte) error {
	_, err := c.roundTrip(RespondCommand, &RespondRequest{ID: id, Payload: payload}, nil)
	return err
}

// Monitor streams the agent's log lines at level and above (a level name
// such as "DEBUG" or "info") to ch: first the lines it still buffers,
// then new ones. ch is closed when the monitor ends: by Stop, Close, or
// the loss of the connection. On error ch is left alone. When the agent
// refuses the monitor (an unknown level, ErrMonitorExists: a connection
// has at most one monitor), the handle is returned with the error, as
// Serf's client returns it.
func (c *RPCClient) Monitor(level logutils.LogLevel, ch chan<- string) (StreamHandle, error) {
	p := &pending{kind: kindMonitor, command: MonitorCommand}
	p.newOut = func() *delivery {
		return c.newDelivery(func(item any, stop <-chan struct{}) bool {
			return sendOrStop(ch, item.(string), stop)
		}, func() { closeChan(ch) })
	}
	seq, err := c.open(p, &MonitorRequest{LogLevel: string(level)})
	return StreamHandle(seq), err
}

// Stream sends the agent's events that pass filter (as in an event
// handler spec: "*", "member-join,user:deploy", "query:q"; "" is "*") to
// ch, each as the decoded record (see MemberEventRecord, UserEventRecord,
// QueryEventRecord): map keys are the record's field names, strings are
// strings, payloads []byte, numbers int64 or uint64, members
// []interface{} of map[interface{}]interface{}. ch is closed, and the
// handle returned with an error, as for Monitor.
func (c *RPCClient) Stream(filter string, ch chan<- map[string]interface{}) (StreamHandle, error) {
	p := &pending{kind: kindStream, command: StreamCommand}
	p.newOut = func() *delivery {
		return c.newDelivery(func(item any, stop <-chan struct{}) bool {
			return sendOrStop(ch, item.(map[string]interface{}), stop)
		}, func() { closeChan(ch) })
	}
	seq, err := c.open(p, &StreamRequest{Type: filter})
	return StreamHandle(seq), err
}

// ackItem is an ack in a query's delivery queue.
type ackItem string

// Query sends a query and returns once the agent has accepted it. Acks
// and responses then arrive on params.AckCh and params.RespCh, which are
// closed after the agent's done record, at the query's deadline (or by
// Close, or the loss of the connection). On error the channels are left
// alone.
//
// The agent can emit records with an empty From just before done (its
// query channels close a moment before its done timer fires); they are
// not real acks or responses and are not delivered.
func (c *RPCClient) Query(params *QueryParam) error {
	if params == nil {
		return errors.New("client: nil QueryParam")
	}
	ackCh, respCh := params.AckCh, params.RespCh
	p := &pending{kind: kindQuery, command: QueryCommand}
	p.newOut = func() *delivery {
		return c.newDelivery(func(item any, stop <-chan struct{}) bool {
			switch v := item.(type) {
			case ackItem:
				return sendOrStop(ackCh, string(v), stop)
			case NodeResponse:
				return sendOrStop(respCh, v, stop)
			}
			return true
		}, func() {
			closeChan(ackCh)
			closeChan(respCh)
		})
	}
	req := &QueryRequest{
		FilterNodes: params.FilterNodes,
		FilterTags:  params.FilterTags,
		RequestAck:  params.RequestAck,
		RelayFactor: params.RelayFactor,
		Timeout:     params.Timeout,
		Name:        params.Name,
		Payload:     params.Payload,
	}
	_, err := c.open(p, req)
	return err
}

// Stop ends the stream or monitor h: its channel is closed, and records
// not yet delivered are dropped, before Stop asks the agent to stop
// sending. Records the agent had already queued still arrive after that;
// they are read and thrown away.
func (c *RPCClient) Stop(h StreamHandle) error {
	seq := uint64(h)
	c.dispatchLock.Lock()
	var out *delivery
	if p, ok := c.dispatch[seq]; ok && (p.kind == kindMonitor || p.kind == kindStream) {
		p.discard = true
		out, p.out = p.out, nil
	}
	c.dispatchLock.Unlock()
	if out != nil {
		out.stop()
		<-out.done
	}
	_, err := c.roundTrip(StopCommand, &StopRequest{Stop: seq}, nil)
	return err
}

// call is roundTrip for a command whose reply has a body of type T. The
// body is returned when the agent sent one, also along with an error.
func call[T any](c *RPCClient, command string, req any) (*T, error) {
	body, err := c.roundTrip(command, req, func() any { return new(T) })
	t, _ := body.(*T)
	return t, err
}

// roundTrip sends a request and waits for its reply. newBody, when not
// nil, makes what the reply's body is decoded into.
func (c *RPCClient) roundTrip(command string, req any, newBody func() any) (any, error) {
	p := &pending{
		kind:    kindCall,
		command: command,
		slow:    slowCommands[command],
		newBody: newBody,
		replyCh: make(chan reply, 1),
	}
	if err := c.send(p, req); err != nil {
		return nil, err
	}
	r, ok := c.await(p)
	if !ok {
		// The entry stays: the reader still has to read the late reply,
		// body and all, to stay in step with the stream.
		return nil, ErrTimeout
	}
	return r.body, r.err
}

// open sends the request that starts a monitor, stream or query and waits
// for the first header, which says whether it started. When the agent
// refused it, the Seq is returned with the agent's error, as Serf's client
// does; when the request never got an answer, 0.
func (c *RPCClient) open(p *pending, req any) (uint64, error) {
	p.replyCh = make(chan reply, 1)
	if err := c.send(p, req); err != nil {
		return 0, err
	}
	r, ok := c.await(p)
	if !ok {
		c.dispatchLock.Lock()
		if !p.started {
			// The reader stops the stream if it starts after all.
			p.abandoned = true
			c.dispatchLock.Unlock()
			return 0, ErrTimeout
		}
		c.dispatchLock.Unlock()
		// The first header arrived as the timer fired; its result is
		// on its way.
		r = <-p.replyCh
	}
	if r.err != nil {
		var remote RemoteError
		if errors.As(r.err, &remote) {
			return p.seq, r.err
		}
		return 0, r.err
	}
	return p.seq, nil
}

// send registers p under the next Seq and writes the request. A failed
// write leaves the stream in an unknown state, so it closes the client.
func (c *RPCClient) send(p *pending, body any) error {
	// Encode the body first, so that an encoding error leaves nothing
	// half-written.
	var bodyBytes []byte
	if body != nil {
		if err := codec.NewEncoderBytes(&bodyBytes, c.handle).Encode(body); err != nil {
			return fmt.Errorf("encode %s request: %w", p.command, err)
		}
	}

	c.writeLock.Lock()
	defer c.writeLock.Unlock()
	c.seq++
	p.seq = c.seq
	p.hasBody = body != nil
	if err := c.register(p); err != nil {
		return err
	}
	var frame []byte
	if err := codec.NewEncoderBytes(&frame, c.handle).Encode(&RequestHeader{Command: p.command, Seq: p.seq}); err != nil {
		c.fail(err)
		return fmt.Errorf("encode %s request: %w", p.command, err)
	}
	frame = append(frame, bodyBytes...)
	if err := c.conn.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
		return c.writeFailed(err)
	}
	if _, err := c.conn.Write(frame); err != nil {
		return c.writeFailed(err)
	}
	return nil
}

// writeFailed closes the client after a failed write and returns the
// error for the caller: the close error when the client was closed
// already (the write failed because of that), else err.
func (c *RPCClient) writeFailed(err error) error {
	c.dispatchLock.Lock()
	closed, closeErr := c.closed, c.closeErr
	c.dispatchLock.Unlock()
	if closed {
		return closeErr
	}
	c.fail(err)
	return err
}

// register adds p to the dispatch table, or returns the close error.
func (c *RPCClient) register(p *pending) error {
	c.dispatchLock.Lock()
	defer c.dispatchLock.Unlock()
	if c.closed {
		return c.closeErr
	}
	c.dispatch[p.seq] = p
	if p.slow {
		c.slow[p.seq] = struct{}{}
	}
	return nil
}

// await waits for p's reply. Unless p is slow, it gives up after the
// timeout, counted from when no slow request sent before p is pending;
// ok is then false.
func (c *RPCClient) await(p *pending) (r reply, ok bool) {
	if p.slow {
		return <-p.replyCh, true
	}
	for {
		c.dispatchLock.Lock()
		busy := false
		for s := range c.slow {
			if s < p.seq {
				busy = true
				break
			}
		}
		idle := c.slowIdle
		c.dispatchLock.Unlock()
		if !busy {
			break
		}
		select {
		case r := <-p.replyCh:
			return r, true
		case <-idle:
		}
	}
	timer := time.NewTimer(c.timeout)
	defer timer.Stop()
	select {
	case r := <-p.replyCh:
		return r, true
	case <-timer.C:
		return reply{}, false
	}
}

// forget removes a call from the tables. Must hold dispatchLock.
func (c *RPCClient) forget(p *pending) {
	delete(c.dispatch, p.seq)
	if _, ok := c.slow[p.seq]; ok {
		delete(c.slow, p.seq)
		close(c.slowIdle)
		c.slowIdle = make(chan struct{})
	}
}

// read is the reader goroutine: it decodes every header and body the
// agent sends and hands them to their entries. It never blocks on a
// consumer; it ends when the connection fails or is closed.
func (c *RPCClient) read() {
	defer c.wg.Done()
	var err error
	for {
		var h ResponseHeader
		if err = c.dec.Decode(&h); err != nil {
			if !c.IsClosed() {
				c.logger.Printf("[ERR] agent.client: Failed to decode response header: %v", err)
			}
			break
		}
		if err = c.dispatchReply(&h); err != nil {
			break
		}
	}
	c.fail(err)
}

// dispatchReply handles one header and reads the body that follows it,
// if any. An error means the stream can no longer be followed.
func (c *RPCClient) dispatchReply(h *ResponseHeader) error {
	c.dispatchLock.Lock()
	p, ok := c.dispatch[h.Seq]
	if !ok {
		c.dispatchLock.Unlock()
		if h.Seq == 0 && RemoteError(h.Error) == ErrAuthRequired {
			// The repeated refusal (see expectEcho) from a server that
			// decodes the unread body into a fresh header, which has
			// Seq 0. We never send Seq 0, and the refusal has no body,
			// so skipping it keeps us in step.
			return nil
		}
		return fmt.Errorf("reply for Seq %d, which is not pending", h.Seq)
	}

	if p.kind == kindEcho {
		delete(c.dispatch, p.seq)
		c.dispatchLock.Unlock()
		return nil
	}

	if p.kind == kindCall {
		c.forget(p)
		c.expectEcho(p, h.Error)
		c.dispatchLock.Unlock()
		r := reply{err: remoteError(h.Error)}
		if replyHasBody(p.command, h.Error) {
			var body any
			if p.newBody != nil {
				body = p.newBody()
			} else {
				body = new(any)
			}
			if err := c.dec.Decode(body); err != nil {
				err = fmt.Errorf("decode %s reply: %w", p.command, err)
				p.replyCh <- reply{err: err}
				return err
			}
			r.body = body
		}
		p.replyCh <- r
		return nil
	}

	if !p.started {
		p.started = true
		abandoned := p.abandoned
		if h.Error != "" {
			delete(c.dispatch, p.seq)
			c.expectEcho(p, h.Error)
			c.dispatchLock.Unlock()
			if !abandoned {
				p.replyCh <- reply{err: RemoteError(h.Error)}
			}
			return nil
		}
		if abandoned {
			p.discard = true
			if p.kind != kindQuery {
				c.stopInBackground(p.seq)
			}
			c.dispatchLock.Unlock()
			return nil
		}
		p.out = p.newOut()
		c.outs[p.out] = struct{}{}
		c.wg.Add(1)
		go c.deliver(p.out)
		c.dispatchLock.Unlock()
		p.replyCh <- reply{}
		return nil
	}

	out := p.out
	if p.discard {
		out = nil
	}
	c.dispatchLock.Unlock()

	item, done, err := c.readRecord(p.kind)
	if err != nil {
		return err
	}
	if done {
		c.dispatchLock.Lock()
		delete(c.dispatch, p.seq)
		c.dispatchLock.Unlock()
		if out != nil {
			out.finish()
		}
		return nil
	}
	if item != nil && out != nil {
		out.push(item)
	}
	return nil
}

// expectEcho registers, in p's place, the extra header the agent sends
// after refusing a request with a body for want of auth. The agent does
// not read the body; it decodes it as the next request header into the
// header it just used, which keeps that header's Command and Seq (a body
// has neither key), and refuses that "request" too. So one more bodiless
// "Authentication required" comes for the same Seq. Must hold
// dispatchLock.
func (c *RPCClient) expectEcho(p *pending, errText string) {
	if p.hasBody && RemoteError(errText) == ErrAuthRequired {
		c.dispatch[p.seq] = &pending{kind: kindEcho, command: p.command, seq: p.seq}
	}
}

// readRecord decodes the record body of a stream of the given kind. item
// is nil for a record not to deliver; done marks the end of a query.
func (c *RPCClient) readRecord(kind pendingKind) (item any, done bool, err error) {
	switch kind {
	case kindMonitor:
		var rec LogRecord
		if err := c.dec.Decode(&rec); err != nil {
			c.logger.Printf("[ERR] Failed to decode log: %v", err)
			return nil, false, fmt.Errorf("decode log record: %w", err)
		}
		return rec.Log, false, nil
	case kindStream:
		var rec map[string]interface{}
		if err := c.dec.Decode(&rec); err != nil {
			c.logger.Printf("[ERR] Failed to decode stream record: %v", err)
			return nil, false, fmt.Errorf("decode event record: %w", err)
		}
		return rec, false, nil
	default:
		var rec QueryRecord
		if err := c.dec.Decode(&rec); err != nil {
			c.logger.Printf("[ERR] Failed to decode query response: %v", err)
			return nil, false, fmt.Errorf("decode query record: %w", err)
		}
		switch rec.Type {
		case QueryRecordDone:
			return nil, true, nil
		case QueryRecordAck:
			if rec.From != "" {
				return ackItem(rec.From), false, nil
			}
		case QueryRecordResponse:
			if rec.From != "" {
				return NodeResponse{From: rec.From, Payload: rec.Payload}, false, nil
			}
		default:
			c.logger.Printf("[ERR] Unrecognized query record type: %s", rec.Type)
		}
		return nil, false, nil
	}
}

// stopInBackground sends stop for a stream that started after its caller
// gave up on it, so that the agent stops sending it. Must hold
// dispatchLock, and the client must not be closed.
func (c *RPCClient) stopInBackground(seq uint64) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.roundTrip(StopCommand, &StopRequest{Stop: seq}, nil)
	}()
}

// fail closes the client: it marks it closed, closes the connection and
// fails everything pending. cause is nil for Close. Only the first call
// acts. Deliveries are stopped at once by Close, and left to drain when
// the connection failed (Close stops them later if nobody reads).
func (c *RPCClient) fail(cause error) {
	c.dispatchLock.Lock()
	if c.closed {
		c.dispatchLock.Unlock()
		return
	}
	c.closed = true
	c.closeErr = &closedError{cause: cause}
	var (
		replies []chan reply
		outs    []*delivery
	)
	for _, p := range c.dispatch {
		switch {
		case p.kind == kindEcho:
		case p.kind == kindCall:
			replies = append(replies, p.replyCh)
		case !p.started:
			p.started = true
			if !p.abandoned {
				replies = append(replies, p.replyCh)
			}
		case p.out != nil:
			outs = append(outs, p.out)
		}
	}
	c.dispatch = map[uint64]*pending{}
	c.slow = map[uint64]struct{}{}
	close(c.slowIdle)
	c.slowIdle = make(chan struct{})
	closeErr := c.closeErr
	c.dispatchLock.Unlock()

	c.conn.Close()
	// Each channel has room for its one reply, and no other reply can
	// come now that the entries are gone.
	for _, ch := range replies {
		ch <- reply{err: closeErr}
	}
	for _, d := range outs {
		if cause == nil {
			d.stop()
		} else {
			d.finish()
		}
	}
}

func remoteError(s string) error {
	if s == "" {
		return nil
	}
	return RemoteError(s)
}

// delivery hands one stream's records to its consumer in order from its
// own goroutine, so that the reader never waits for a consumer. It holds
// up to streamBuffer records; more are dropped and counted.
type delivery struct {
	send     func(item any, stop <-chan struct{}) bool // false once stopped
	closeOut func()                                    // closes the consumer's channels
	dropped  *atomic.Uint64
	logger   *log.Logger

	mu       sync.Mutex
	items    []any // guarded by mu
	finished bool  // guarded by mu: no more items; close once drained
	stopped  bool  // guarded by mu

	wake   chan struct{} // an item or finish arrived; room for one
	stopCh chan struct{} // closed by stop
	done   chan struct{} // closed when the goroutine has exited
}

// streamBuffer is how many records a stream, monitor or query keeps for a
// consumer that is behind, the same as the agent's per-stream buffer.
const streamBuffer = 512

func (c *RPCClient) newDelivery(send func(any, <-chan struct{}) bool, closeOut func()) *delivery {
	return &delivery{
		send:     send,
		closeOut: closeOut,
		dropped:  &c.dropped,
		logger:   c.logger,
		wake:     make(chan struct{}, 1),
		stopCh:   make(chan struct{}),
		done:     make(chan struct{}),
	}
}

// push queues an item, or drops it when the queue is full. Never blocks.
func (d *delivery) push(item any) {
	d.mu.Lock()
	if d.finished || d.stopped {
		d.mu.Unlock()
		return
	}
	if len(d.items) >= streamBuffer {
		d.mu.Unlock()
		d.dropped.Add(1)
		d.logger.Print(dropMessage(item))
		return
	}
	d.items = append(d.items, item)
	d.mu.Unlock()
	d.poke()
}

// dropMessage is the line Serf's client logs when it drops a record of
// item's kind for a consumer that is behind.
func dropMessage(item any) string {
	switch item.(type) {
	case string:
		return "[ERR] Dropping log! Monitor channel full"
	case ackItem:
		return "[ERR] Dropping query ack, channel full"
	case NodeResponse:
		return "[ERR] Dropping query response, channel full"
	default:
		return "[ERR] Dropping event! Stream channel full"
	}
}

// finish says no more items will come: the consumer gets the queued ones,
// then its channels are closed.
func (d *delivery) finish() {
	d.mu.Lock()
	d.finished = true
	d.mu.Unlock()
	d.poke()
}

// stop ends the delivery at once, dropping queued items.
func (d *delivery) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.stopped {
		d.stopped = true
		close(d.stopCh)
	}
}

func (d *delivery) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// next waits for the next item. ok is false when the delivery is over.
func (d *delivery) next() (item any, ok bool) {
	for {
		d.mu.Lock()
		if d.stopped {
			d.mu.Unlock()
			return nil, false
		}
		if len(d.items) > 0 {
			item = d.items[0]
			d.items[0] = nil
			d.items = d.items[1:]
			if len(d.items) == 0 {
				d.items = nil
			}
			d.mu.Unlock()
			return item, true
		}
		finished := d.finished
		d.mu.Unlock()
		if finished {
			return nil, false
		}
		select {
		case <-d.wake:
		case <-d.stopCh:
		}
	}
}

// deliver is a delivery's goroutine. Its owner is the client: Stop or
// Close stop it and wait for it.
func (c *RPCClient) deliver(d *delivery) {
	defer c.wg.Done()
	defer func() {
		c.dispatchLock.Lock()
		delete(c.outs, d)
		c.dispatchLock.Unlock()
		close(d.done)
	}()
	defer d.closeOut()
	for {
		item, ok := d.next()
		if !ok || !d.send(item, d.stopCh) {
			return
		}
	}
}

// sendOrStop sends v on ch unless stop closes first; a nil ch takes
// nothing and is skipped.
func sendOrStop[T any](ch chan<- T, v T, stop <-chan struct{}) bool {
	if ch == nil {
		return true
	}
	select {
	case ch <- v:
		return true
	case <-stop:
		return false
	}
}

func closeChan[T any](ch chan<- T) {
	if ch != nil {
		close(ch)
	}
}
