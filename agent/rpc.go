package agent

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/openserf/serf/client"
	"github.com/openserf/serf/event"
	"github.com/openserf/serf/serf"
)

// RPC server limits. A stream or monitor whose client reads too slowly
// loses records (counted and logged) instead of holding anything up.
const (
	rpcStreamBuffer  = 512
	rpcMonitorBuffer = 512
	// rpcWriteTimeout bounds one write to a client, so a client that
	// stopped reading cannot pin a goroutine forever. A stream or monitor
	// whose write fails ends.
	rpcWriteTimeout = 10 * time.Second
)

// RPCServer serves Serf's msgpack RPC protocol (docs/wire.md, RPC) to the
// CLI and to client libraries. Each connection has one goroutine reading
// requests, and one per stream or monitor writing records; all writes to
// a connection are serialised.
type RPCServer struct {
	agent        *Agent
	authKey      string
	listener     net.Listener
	logs         *LogRing
	logger       *log.Logger
	handle       *codec.MsgpackHandle
	writeTimeout time.Duration

	lock     sync.Mutex
	clients  map[*rpcClient]struct{}
	stopping bool
	wg       sync.WaitGroup
}

// NewRPCServer serves on listener until Shutdown. The agent made by New
// starts its own; this is for an agent made by Create.
func NewRPCServer(a *Agent, authKey string, listener net.Listener, logs *LogRing, logger *log.Logger) *RPCServer {
	return newRPCServer(a, authKey, listener, logs, logger, rpcWriteTimeout)
}

// newRPCServer is NewRPCServer with the time one write may take.
func newRPCServer(a *Agent, authKey string, listener net.Listener, logs *LogRing, logger *log.Logger,
	writeTimeout time.Duration) *RPCServer {
	s := &RPCServer{
		agent:        a,
		authKey:      authKey,
		listener:     listener,
		logs:         logs,
		logger:       logger,
		handle:       client.NewCodecHandle(),
		writeTimeout: writeTimeout,
		clients:      make(map[*rpcClient]struct{}),
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.accept()
	}()
	return s
}

// Shutdown closes the listener and every connection and waits for all
// goroutines. It is idempotent.
func (s *RPCServer) Shutdown() {
	s.lock.Lock()
	if s.stopping {
		s.lock.Unlock()
		return
	}
	s.stopping = true
	s.listener.Close()
	for c := range s.clients {
		c.close()
	}
	s.lock.Unlock()
	s.wg.Wait()
}

func (s *RPCServer) accept() {
	for {
		conn, err := s.listener.Accept()
		if err != nil {
			s.lock.Lock()
			stopping := s.stopping
			s.lock.Unlock()
			if stopping {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			s.logger.Printf("[ERR] agent.ipc: Failed to accept client: %v", err)
			return
		}
		s.logger.Printf("[INFO] agent.ipc: Accepted client: %v", conn.RemoteAddr())
		s.agent.metrics.IncrCounterWithLabels([]string{"agent", "ipc", "accept"}, 1, s.agent.labels)

		sock := &readErrs{r: conn}
		c := &rpcClient{
			server:  s,
			name:    conn.RemoteAddr().String(),
			conn:    conn,
			sock:    sock,
			reader:  bufio.NewReader(sock),
			writer:  bufio.NewWriter(conn),
			streams: make(map[uint64]*eventStream),
			queries: make(map[uint64]*pendingQuery),
			done:    make(chan struct{}),
		}
		c.dec = codec.NewDecoder(c.reader, s.handle)
		c.enc = codec.NewEncoder(c.writer, s.handle)

		s.lock.Lock()
		if s.stopping {
			s.lock.Unlock()
			conn.Close()
			return
		}
		s.clients[c] = struct{}{}
		s.wg.Add(1)
		s.lock.Unlock()
		go func() {
			defer s.wg.Done()
			c.serve()
		}()
	}
}

// readErrs is an io.Reader that keeps the last error of the reader it
// wraps. Used only by the serving goroutine.
type readErrs struct {
	r   io.Reader
	err error
}

func (e *readErrs) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil {
		e.err = err
	}
	return n, err
}

// rpcClient is one connection.
type rpcClient struct {
	server *RPCServer
	name   string
	conn   net.Conn
	sock   *readErrs // conn, keeping its last read error; serving goroutine only
	reader *bufio.Reader
	dec    *codec.Decoder

	writeLock sync.Mutex
	writer    *bufio.Writer
	enc       *codec.Encoder

	// Touched only by the serving goroutine.
	version int32
	didAuth bool

	lock      sync.Mutex
	streams   map[uint64]*eventStream // by the seq that opened them
	monitor   *logStream
	queryID   uint64                   // last query ID handed out
	queries   map[uint64]*pendingQuery // answerable with respond
	closeOnce sync.Once
	done      chan struct{} // closed when the connection is closed
	wg        sync.WaitGroup
}

// pendingQuery is a query delivered to a stream, answerable with respond
// until its deadline, when expiry forgets it.
type pendingQuery struct {
	query  *serf.Query
	expiry *time.Timer
}

// send writes a header and an optional body, flushed together.
func (c *rpcClient) send(header *client.ResponseHeader, body any) error {
	c.writeLock.Lock()
	defer c.writeLock.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(c.server.writeTimeout))
	if err := c.enc.Encode(header); err != nil {
		return err
	}
	if body != nil {
		if err := c.enc.Encode(body); err != nil {
			return err
		}
	}
	return c.writer.Flush()
}

func (c *rpcClient) close() {
	c.closeOnce.Do(func() {
		close(c.done)
		c.conn.Close()
	})
}

// serve reads requests until the connection fails, then tears the client
// down: streams and monitor deregistered, their goroutines waited for,
// pending queries (and their timers) dropped.
func (c *rpcClient) serve() {
	s := c.server
	defer func() {
		c.close()
		c.lock.Lock()
		for _, es := range c.streams {
			s.agent.DeregisterEventHandler(es)
		}
		c.streams = map[uint64]*eventStream{}
		if c.monitor != nil {
			s.logs.DeregisterHandler(c.monitor)
			c.monitor = nil
		}
		c.lock.Unlock()
		c.wg.Wait()
		// Every stream writer has exited, so no query is added any more.
		c.lock.Lock()
		for id, p := range c.queries {
			p.expiry.Stop()
			delete(c.queries, id)
		}
		c.lock.Unlock()
		s.lock.Lock()
		delete(s.clients, c)
		s.lock.Unlock()
	}()

	// One header for the whole connection, as in Serf: a body left unread
	// after "Authentication required" is decoded into it next, keeping the
	// old Command and Seq, so the refusal repeats with the same Seq, which
	// Serf's clients expect.
	var h client.RequestHeader
	for {
		if err := c.dec.Decode(&h); err != nil {
			select {
			case <-c.done:
			default:
				// The decoder's errors do not wrap the socket's; the
				// reader under it kept the last one.
				if !errors.Is(err, io.EOF) && !errors.Is(c.sock.err, net.ErrClosed) {
					s.logger.Printf("[ERR] agent.ipc: failed to decode request header: %v", err)
				}
			}
			return
		}
		if err := c.handle(&h); err != nil {
			s.logger.Printf("[ERR] agent.ipc: Failed to evaluate request: %v", err)
			return
		}
	}
}

// decode reads a request body.
func (c *rpcClient) decode(v any) error {
	if err := c.dec.Decode(v); err != nil {
		return fmt.Errorf("decode failed: %w", err)
	}
	return nil
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// reply sends a header with err's text and an optional body.
func (c *rpcClient) reply(seq uint64, err error, body any) error {
	return c.send(&client.ResponseHeader{Seq: seq, Error: errText(err)}, body)
}

// handle runs one request. A returned error closes the connection.
func (c *rpcClient) handle(h *client.RequestHeader) error {
	s := c.server
	seq := h.Seq
	if h.Command != client.HandshakeCommand && c.version == 0 {
		_ = c.reply(seq, client.ErrHandshakeRequired, nil)
		return client.ErrHandshakeRequired
	}
	s.agent.metrics.IncrCounterWithLabels([]string{"agent", "ipc", "command"}, 1, s.agent.labels)

	if s.authKey != "" && !c.didAuth && h.Command != client.AuthCommand && h.Command != client.HandshakeCommand {
		// As Serf: refused without reading the request's body.
		s.logger.Printf("[WARN] agent.ipc: Client sending commands before auth")
		return c.reply(seq, client.ErrAuthRequired, nil)
	}

	a := s.agent
	switch h.Command {
	case client.HandshakeCommand:
		var req client.HandshakeRequest
		if err := c.decode(&req); err != nil {
			return err
		}
		var err error
		switch {
		case req.Version < client.MinIPCVersion || req.Version > client.MaxIPCVersion:
			err = client.ErrUnsupportedIPCVersion
		case c.version != 0:
			err = client.ErrDuplicateHandshake
		default:
			c.version = req.Version
		}
		return c.reply(seq, err, nil)

	case client.AuthCommand:
		var req client.AuthRequest
		if err := c.decode(&req); err != nil {
			return err
		}
		var err error
		if req.AuthKey == s.authKey {
			c.didAuth = true
		} else {
			err = client.ErrInvalidAuthToken
		}
		return c.reply(seq, err, nil)

	case client.EventCommand:
		var req client.EventRequest
		if err := c.decode(&req); err != nil {
			return err
		}
		return c.reply(seq, a.UserEvent(req.Name, req.Payload, req.Coalesce), nil)

	case client.ForceLeaveCommand:
		var req client.ForceLeaveRequest
		if err := c.decode(&req); err != nil {
			return err
		}
		return c.reply(seq, a.ForceLeave(req.Node, req.Prune), nil)

	case client.JoinCommand:
		var req client.JoinRequest
		if err := c.decode(&req); err != nil {
			return err
		}
		n, err := a.Join(req.Existing, req.Replay)
		return c.reply(seq, err, &client.JoinResponse{Num: int32(n)})

	case client.MembersCommand:
		return c.reply(seq, nil, &client.MembersResponse{Members: rpcMembers(a.Serf().Members())})

	case client.MembersFilteredCommand:
		var req client.MembersFilteredRequest
		if err := c.decode(&req); err != nil {
			return err
		}
		members, err := filterMembers(a.Serf().Members(), req.Tags, req.Status, req.Name)
		if err != nil {
			// As Serf: no reply, the connection is closed.
			return fmt.Errorf("Failed to compile regex: %w", err)
		}
		return c.reply(seq, nil, &client.MembersResponse{Members: rpcMembers(members)})

	case client.TagsCommand:
		var req client.TagsRequest
		if err := c.decode(&req); err != nil {
			return err
		}
		tags := map[string]string{}
		for k, v := range a.Serf().LocalMember().Tags {
			tags[k] = v
		}
		for _, k := range req.DeleteTags {
			delete(tags, k)
		}
		for k, v := range req.Tags {
			tags[k] = v
		}
		return c.reply(seq, a.SetTags(tags), nil)

	case client.StreamCommand:
		var req client.StreamRequest
		if err := c.decode(&req); err != nil {
			return err
		}
		return c.openStream(seq, req.Type)

	case client.MonitorCommand:
		var req client.MonitorRequest
		if err := c.decode(&req); err != nil {
			return err
		}
		return c.openMonitor(seq, req.LogLevel)

	case client.StopCommand:
		var req client.StopRequest
		if err := c.decode(&req); err != nil {
			return err
		}
		c.stop(req.Stop)
		return c.reply(seq, nil, nil)

	case client.LeaveCommand:
		s.logger.Printf("[INFO] agent.ipc: Graceful leave triggered")
		err := a.Leave()
		if err != nil {
			s.logger.Printf("[ERR] agent.ipc: leave failed: %v", err)
		}
		sendErr := c.reply(seq, err, nil)
		// Stops Serf and so ends `serf agent`, whose Shutdown then stops
		// this server; this request cannot wait for that itself.
		if err := a.stop(); err != nil {
			s.logger.Printf("[ERR] agent.ipc: shutdown failed: %v", err)
		}
		return sendErr

	case client.QueryCommand:
		var req client.QueryRequest
		if err := c.decode(&req); err != nil {
			return err
		}
		params := serf.QueryParam{
			FilterNodes: req.FilterNodes,
			FilterTags:  req.FilterTags,
			RequestAck:  req.RequestAck,
			RelayFactor: req.RelayFactor,
			Timeout:     req.Timeout,
		}
		resp, err := a.Query(req.Name, req.Payload, &params)
		if err != nil {
			return c.reply(seq, err, nil)
		}
		return c.replyThenStream(seq, func() { c.streamQuery(seq, resp) })

	case client.RespondCommand:
		var req client.RespondRequest
		if err := c.decode(&req); err != nil {
			return err
		}
		c.lock.Lock()
		p, ok := c.queries[req.ID]
		c.lock.Unlock()
		err := error(client.ErrInvalidQueryID)
		if ok {
			err = p.query.Respond(req.Payload)
		}
		return c.reply(seq, err, nil)

	case client.InstallKeyCommand, client.UseKeyCommand, client.RemoveKeyCommand:
		var req client.KeyRequest
		if err := c.decode(&req); err != nil {
			return err
		}
		op := map[string]func(string) (*serf.KeyResponse, error){
			client.InstallKeyCommand: a.InstallKey,
			client.UseKeyCommand:     a.UseKey,
			client.RemoveKeyCommand:  a.RemoveKey,
		}[h.Command]
		resp, err := op(req.Key)
		return c.reply(seq, err, keyResponse(resp, false))

	case client.ListKeysCommand:
		resp, err := a.ListKeys()
		return c.reply(seq, err, keyResponse(resp, true))

	case client.StatsCommand:
		return c.reply(seq, nil, a.Stats())

	case client.GetCoordinateCommand:
		var req client.CoordinateRequest
		if err := c.decode(&req); err != nil {
			return err
		}
		var resp client.CoordinateResponse
		if coord, ok := a.Serf().GetCachedCoordinate(req.Node); ok {
			resp.Coord, resp.Ok = *coord, true
		}
		return c.reply(seq, nil, &resp)

	default:
		_ = c.reply(seq, client.ErrUnsupportedCommand, nil)
		return fmt.Errorf("command '%s' not recognized", h.Command)
	}
}

// keyResponse converts a key manager result; Keys only for list-keys.
func keyResponse(r *serf.KeyResponse, withKeys bool) *client.KeyResponse {
	out := &client.KeyResponse{}
	if r == nil {
		return out
	}
	out.Messages, out.NumNodes, out.NumErr, out.NumResp = r.Messages, r.NumNodes, r.NumErr, r.NumResp
	if withKeys {
		out.Keys = r.Keys
	}
	return out
}

// rpcMembers converts members to their RPC form.
func rpcMembers(ms []serf.Member) []client.Member {
	out := make([]client.Member, 0, len(ms))
	for _, m := range ms {
		out = append(out, rpcMember(m))
	}
	return out
}

func rpcMember(m serf.Member) client.Member {
	tags := m.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	return client.Member{
		Name: m.Name, Addr: m.Addr, Port: m.Port, Tags: tags, Status: m.Status.String(),
		ProtocolMin: m.ProtocolMin, ProtocolMax: m.ProtocolMax, ProtocolCur: m.ProtocolCur,
		DelegateMin: m.DelegateMin, DelegateMax: m.DelegateMax, DelegateCur: m.DelegateCur,
	}
}

// filterMembers applies members-filtered: every expression is anchored as
// "^expr$" (so "a|b" is "^a|b$", as in Serf), a missing tag matches as "",
// and empty status or name filters match everything.
func filterMembers(ms []serf.Member, tags map[string]string, status, name string) ([]serf.Member, error) {
	tagRes := make(map[string]*regexp.Regexp, len(tags))
	for k, expr := range tags {
		re, err := regexp.Compile("^" + expr + "$")
		if err != nil {
			return nil, err
		}
		tagRes[k] = re
	}
	statusRe, err := regexp.Compile("^" + status + "$")
	if err != nil {
		return nil, err
	}
	nameRe, err := regexp.Compile("^" + name + "$")
	if err != nil {
		return nil, err
	}
	var out []serf.Member
next:
	for _, m := range ms {
		for k, re := range tagRes {
			if !re.MatchString(m.Tags[k]) {
				continue next
			}
		}
		if status != "" && !statusRe.MatchString(m.Status.String()) {
			continue
		}
		if name != "" && !nameRe.MatchString(m.Name) {
			continue
		}
		out = append(out, m)
	}
	return out, nil
}

// stop ends the monitor and/or stream opened by seq.
func (c *rpcClient) stop(seq uint64) {
	c.lock.Lock()
	defer c.lock.Unlock()
	if c.monitor != nil && c.monitor.seq == seq {
		c.server.logs.DeregisterHandler(c.monitor)
		c.monitor.stop()
		c.monitor = nil
	}
	if es, ok := c.streams[seq]; ok {
		c.server.agent.DeregisterEventHandler(es)
		es.stop()
		delete(c.streams, seq)
	}
}

// streamQuery relays a query's acks and responses, then "done" once the
// collector closes: at the deadline, or as soon as every selected member
// has acked and responded (Agent.Query). Reading until both channels are
// closed means no empty record is ever sent before "done".
func (c *rpcClient) streamQuery(seq uint64, resp *serf.QueryResponse) {
	ackCh, respCh := resp.AckCh(), resp.ResponseCh()
	header := &client.ResponseHeader{Seq: seq}
	for ackCh != nil || respCh != nil {
		select {
		case from, ok := <-ackCh:
			if !ok {
				ackCh = nil
				continue
			}
			if err := c.send(header, &client.QueryRecord{Type: client.QueryRecordAck, From: from}); err != nil {
				c.server.logger.Printf("[ERR] agent.ipc: Failed to stream ack to %v: %v", c.name, err)
				resp.Close()
				return
			}
		case r, ok := <-respCh:
			if !ok {
				respCh = nil
				continue
			}
			rec := client.QueryRecord{Type: client.QueryRecordResponse, From: r.From, Payload: r.Payload}
			if err := c.send(header, &rec); err != nil {
				c.server.logger.Printf("[ERR] agent.ipc: Failed to stream response to %v: %v", c.name, err)
				resp.Close()
				return
			}
		case <-c.done:
			resp.Close()
			return
		}
	}
	if err := c.send(header, &client.QueryRecord{Type: client.QueryRecordDone}); err != nil {
		c.server.logger.Printf("[ERR] agent.ipc: Failed to stream query end to %v: %v", c.name, err)
	}
}

// openStream starts an event stream for seq.
func (c *rpcClient) openStream(seq uint64, filter string) error {
	specs := event.ParseFilter(filter)
	for _, sp := range specs {
		if !sp.Valid() {
			return c.reply(seq, client.ErrInvalidFilter, nil)
		}
	}
	c.lock.Lock()
	if _, ok := c.streams[seq]; ok {
		c.lock.Unlock()
		return c.reply(seq, client.ErrStreamExists, nil)
	}
	es := &eventStream{streamQueue: newEventQueue(specs, rpcStreamBuffer), client: c, seq: seq, stopCh: make(chan struct{})}
	c.streams[seq] = es
	c.lock.Unlock()

	// Registered before the OK, so no event after the OK is missed; the
	// writer starts after it, so no record goes out before it.
	c.server.agent.RegisterEventHandler(es)
	return c.replyThenStream(seq, es.run)
}

// replyThenStream answers seq with OK and then runs write, the writer of
// the stream it opened, in a goroutine the client waits for: no record
// goes out before the OK.
func (c *rpcClient) replyThenStream(seq uint64, write func()) error {
	if err := c.reply(seq, nil, nil); err != nil {
		return err
	}
	c.wg.Go(write)
	return nil
}

// streamQueue holds what one stream's client, over RPC or HTTP, has yet
// to be sent: the items match accepts, as long as there is room.
type streamQueue[T any] struct {
	match func(T) bool
	ch    chan T
}

// newEventQueue makes a queue of size events for filters.
func newEventQueue(filters []event.Spec, size int) streamQueue[serf.Event] {
	match := func(e serf.Event) bool {
		return slices.ContainsFunc(filters, func(f event.Spec) bool { return f.Matches(e) })
	}
	return streamQueue[serf.Event]{match: match, ch: make(chan serf.Event, size)}
}

// newLogQueue makes a queue of size log lines at level or above.
func newLogQueue(level string, size int) streamQueue[string] {
	filter := NewLevelFilter(level, nil)
	match := func(line string) bool { return filter.Check([]byte(line)) }
	return streamQueue[string]{match: match, ch: make(chan string, size)}
}

// offer queues v if match accepts it. It never blocks: it reports false
// when v was accepted but the queue was full, and v is dropped.
func (q *streamQueue[T]) offer(v T) bool {
	if !q.match(v) {
		return true
	}
	select {
	case q.ch <- v:
		return true
	default:
		return false
	}
}

// eventStream forwards matching events to one client. HandleEvent never
// blocks: a full queue drops the event.
type eventStream struct {
	streamQueue[serf.Event]
	client   *rpcClient
	seq      uint64
	stopCh   chan struct{}
	stopOnce sync.Once
}

func (es *eventStream) stop() { es.stopOnce.Do(func() { close(es.stopCh) }) }

// HandleEvent queues e if a filter matches. Called by the agent's loop.
func (es *eventStream) HandleEvent(e serf.Event) {
	if !es.offer(e) {
		s := es.client.server
		s.logger.Printf("[WARN] agent.ipc: Dropping event to %v", es.client.name)
		s.agent.metrics.IncrCounterWithLabels([]string{"agent", "ipc", "event_dropped"}, 1, s.agent.labels)
	}
}

// run writes the queued events until the stream is stopped or a write
// fails; a failed stream is deregistered, as the connection can no
// longer carry it.
func (es *eventStream) run() {
	c := es.client
	header := &client.ResponseHeader{Seq: es.seq}
	forward(c, es.ch, es.stopCh, func(e serf.Event) bool {
		var rec any
		switch e := e.(type) {
		case serf.MemberEvent:
			rec = &client.MemberEventRecord{Event: e.Type.String(), Members: rpcMembers(e.Members)}
		case serf.UserEvent:
			rec = &client.UserEventRecord{Event: "user", LTime: uint64(e.LTime), Name: e.Name, Payload: e.Payload, Coalesce: e.Coalesce}
		case *serf.Query:
			rec = &client.QueryEventRecord{Event: "query", ID: c.registerQuery(e), LTime: uint64(e.LTime), Name: e.Name, Payload: e.Payload}
		default:
			return true
		}
		if err := c.send(header, rec); err != nil {
			c.server.logger.Printf("[ERR] agent.ipc: Failed to stream event to %v: %v", c.name, err)
			c.endStream(es)
			return false
		}
		return true
	})
}

// forward hands each item queued on ch to write, the writer of one
// stream, until write reports false, stop is closed or the connection
// ends.
func forward[T any](c *rpcClient, ch <-chan T, stop <-chan struct{}, write func(T) bool) {
	for {
		select {
		case v := <-ch:
			if !write(v) {
				return
			}
		case <-stop:
			return
		case <-c.done:
			return
		}
	}
}

// endStream deregisters a stream whose writer failed, so that events are
// no longer queued for it (and dropped, with a warning each, once its
// buffer is full).
func (c *rpcClient) endStream(es *eventStream) {
	c.lock.Lock()
	defer c.lock.Unlock()
	if c.streams[es.seq] == es {
		delete(c.streams, es.seq)
	}
	c.server.agent.DeregisterEventHandler(es)
}

// endMonitor deregisters a monitor whose writer failed.
func (c *rpcClient) endMonitor(ls *logStream) {
	c.lock.Lock()
	defer c.lock.Unlock()
	if c.monitor == ls {
		c.monitor = nil
	}
	c.server.logs.DeregisterHandler(ls)
}

// registerQuery makes a delivered query answerable with respond until its
// deadline, and returns its ID on this connection. The connection's
// teardown stops the timer that forgets it.
func (c *rpcClient) registerQuery(q *serf.Query) uint64 {
	c.lock.Lock()
	defer c.lock.Unlock()
	c.queryID++
	id := c.queryID
	p := &pendingQuery{query: q}
	p.expiry = time.AfterFunc(time.Until(q.Deadline()), func() {
		c.lock.Lock()
		defer c.lock.Unlock()
		if c.queries[id] == p {
			delete(c.queries, id)
		}
	})
	c.queries[id] = p
	return id
}

// openMonitor starts streaming log lines at level and above.
func (c *rpcClient) openMonitor(seq uint64, level string) error {
	level = strings.ToUpper(level)
	if !ValidLevel(level) {
		return c.reply(seq, client.UnknownLogLevelError(level), nil)
	}
	c.lock.Lock()
	if c.monitor != nil {
		c.lock.Unlock()
		return c.reply(seq, client.ErrMonitorExists, nil)
	}
	ls := &logStream{
		streamQueue: newLogQueue(level, rpcMonitorBuffer),
		client:      c,
		seq:         seq,
		stopCh:      make(chan struct{}),
	}
	c.monitor = ls
	c.lock.Unlock()

	// Replays the kept lines into the buffer, then streams; the writer
	// starts after the OK.
	c.server.logs.RegisterHandler(ls)
	return c.replyThenStream(seq, ls.run)
}

// logStream forwards log lines to one client.
type logStream struct {
	streamQueue[string]
	client   *rpcClient
	seq      uint64
	stopCh   chan struct{}
	stopOnce sync.Once

	dropLock sync.Mutex
	dropped  int // guarded by dropLock
}

func (ls *logStream) stop() { ls.stopOnce.Do(func() { close(ls.stopCh) }) }

// HandleLog queues a line. It runs under the log ring's lock, so it must
// neither block nor log: drops are counted and reported by run.
func (ls *logStream) HandleLog(line string) {
	if !ls.offer(line) {
		ls.dropLock.Lock()
		ls.dropped++
		ls.dropLock.Unlock()
	}
}

// run writes the queued lines until the monitor is stopped or a write
// fails; a failed monitor is deregistered, as the connection can no
// longer carry it.
func (ls *logStream) run() {
	c := ls.client
	header := &client.ResponseHeader{Seq: ls.seq}
	forward(c, ls.ch, ls.stopCh, func(line string) bool {
		if err := c.send(header, &client.LogRecord{Log: line}); err != nil {
			c.server.logger.Printf("[ERR] agent.ipc: Failed to stream log to %v: %v", c.name, err)
			c.endMonitor(ls)
			return false
		}
		ls.dropLock.Lock()
		n := ls.dropped
		ls.dropped = 0
		ls.dropLock.Unlock()
		if n > 0 {
			c.server.logger.Printf("[WARN] agent.ipc: Dropping logs to %v (%d lines)", c.name, n)
		}
		return true
	})
}
