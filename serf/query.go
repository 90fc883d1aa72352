package serf

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// QueryParam tunes a query. The zero value asks every node, without acks,
// with the default timeout.
type QueryParam struct {
	// FilterNodes limits the query to these node names.
	FilterNodes []string
	// FilterTags limits the query to nodes whose tag matches the regular
	// expression; the match is unanchored, and a missing tag is "".
	FilterTags map[string]string
	// RequestAck asks every node that passes the filters to ack at once.
	RequestAck bool
	// RelayFactor sends every ack and response also through this many
	// random other members, for lossy networks.
	RelayFactor uint8
	// Timeout is how long responses are collected; zero is
	// DefaultQueryTimeout.
	Timeout time.Duration
	// EndWhenAnswered, with RequestAck, closes the collector as soon as
	// every member the filters select has both acked and responded,
	// rather than at the deadline. The selected members are the ones this
	// node knows to be alive or leaving when the query is sent whose name
	// and gossiped tags pass the filters, judged as the members judge
	// themselves. While one of them has not answered, and always without
	// RequestAck, collection runs to the deadline as in Serf. Ours only.
	EndWhenAnswered bool

	// redeliverUnanswered resends the query to members that have not
	// responded, for queries every member answers (the key queries).
	redeliverUnanswered bool
}

// encodeFilters encodes the node filter and one filter per tag.
func (p *QueryParam) encodeFilters() ([][]byte, error) {
	var filters [][]byte
	if len(p.FilterNodes) > 0 {
		f, err := encodeFilter(filterNodeType, filterNode(p.FilterNodes))
		if err != nil {
			return nil, err
		}
		filters = append(filters, f)
	}
	for tag, expr := range p.FilterTags {
		f, err := encodeFilter(filterTagType, &filterTag{Tag: tag, Expr: expr})
		if err != nil {
			return nil, err
		}
		filters = append(filters, f)
	}
	return filters, nil
}

// DefaultQueryTimeout is GossipInterval x QueryTimeoutMult x
// ceil(log10(N+1)), N the number of live members: long enough for the
// query to reach everybody and the answers to come back.
func (s *Serf) DefaultQueryTimeout() time.Duration {
	n := s.memberlist.NumMembers()
	t := s.config.MemberlistConfig.GossipInterval * time.Duration(s.config.QueryTimeoutMult)
	return t * time.Duration(math.Ceil(math.Log10(float64(n+1))))
}

// DefaultQueryParams returns the parameters used when none are given.
func (s *Serf) DefaultQueryParams() *QueryParam {
	return &QueryParam{Timeout: s.DefaultQueryTimeout()}
}

// NodeResponse is one node's answer to a query.
type NodeResponse struct {
	From    string
	Payload []byte
}

// QueryResponse collects the acks and responses to a query sent by this
// node. Both channels are closed at the deadline, or earlier with
// QueryParam.EndWhenAnswered. Each node's ack and response is delivered
// once.
type QueryResponse struct {
	id       uint32
	lTime    LamportTime
	deadline time.Time
	timer    *time.Timer

	lock      sync.Mutex
	closed    bool // guarded by lock
	ackCh     chan string
	respCh    chan NodeResponse
	acks      map[string]struct{} // guarded by lock
	responses map[string]struct{} // guarded by lock
	doneCh    chan struct{}       // closed by Close

	// expect holds the members whose ack and response end collection
	// early (EndWhenAnswered); nil means collection runs to the deadline.
	expect     map[string]struct{} // guarded by lock
	unanswered int                 // guarded by lock; members of expect yet to both ack and respond
}

func newQueryResponse(n int, q *messageQuery) *QueryResponse {
	r := &QueryResponse{
		id:        q.ID,
		lTime:     q.LTime,
		deadline:  time.Now().Add(q.Timeout),
		respCh:    make(chan NodeResponse, n),
		responses: make(map[string]struct{}),
		doneCh:    make(chan struct{}),
	}
	if q.ack() {
		r.ackCh = make(chan string, n)
		r.acks = make(map[string]struct{})
	}
	return r
}

// AckCh delivers the name of each node that acked; nil without RequestAck.
func (r *QueryResponse) AckCh() <-chan string { return r.ackCh }

// ResponseCh delivers each node's response.
func (r *QueryResponse) ResponseCh() <-chan NodeResponse { return r.respCh }

// Deadline is when collection ends.
func (r *QueryResponse) Deadline() time.Time { return r.deadline }

// Finished reports whether the query is closed or past its deadline.
func (r *QueryResponse) Finished() bool {
	r.lock.Lock()
	defer r.lock.Unlock()
	return r.closed || time.Now().After(r.deadline)
}

// Close ends collection early and closes the channels. It is idempotent.
func (r *QueryResponse) Close() {
	r.lock.Lock()
	defer r.lock.Unlock()
	r.closeLocked()
}

// closeLocked is Close with lock held.
func (r *QueryResponse) closeLocked() {
	if r.closed {
		return
	}
	r.closed = true
	close(r.doneCh)
	if r.ackCh != nil {
		close(r.ackCh)
	}
	close(r.respCh)
}

var errResponseDropped = errors.New("serf: Failed to deliver query response, dropping")

// addAck records an ack; false means it was a duplicate.
func (r *QueryResponse) addAck(from string) (bool, error) {
	r.lock.Lock()
	defer r.lock.Unlock()
	if r.closed || r.ackCh == nil {
		return true, nil
	}
	if _, dup := r.acks[from]; dup {
		return false, nil
	}
	select {
	case r.ackCh <- from:
		r.acks[from] = struct{}{}
		r.noteAnswer(from)
		return true, nil
	default:
		return true, errResponseDropped
	}
}

// addResponse records a response; false means it was a duplicate.
func (r *QueryResponse) addResponse(nr NodeResponse) (bool, error) {
	r.lock.Lock()
	defer r.lock.Unlock()
	if r.closed {
		return true, nil
	}
	if _, dup := r.responses[nr.From]; dup {
		return false, nil
	}
	select {
	case r.respCh <- nr:
		r.responses[nr.From] = struct{}{}
		r.noteAnswer(nr.From)
		return true, nil
	default:
		return true, errResponseDropped
	}
}

// queries are the query IDs seen at one Lamport time.
type queries struct {
	LTime    LamportTime
	QueryIDs []uint32
}

// Query sends a query to the cluster and returns the collector of its
// acks and responses. It needs protocol 4 or later. The local node
// processes the query too, so it may ack and answer its own query.
func (s *Serf) Query(name string, payload []byte, params *QueryParam) (*QueryResponse, error) {
	if s.ProtocolVersion() < 4 {
		return nil, FeatureNotSupported
	}
	p := QueryParam{}
	if params != nil {
		p = *params
	}
	if p.Timeout == 0 {
		p.Timeout = s.DefaultQueryTimeout()
	}
	filters, err := p.encodeFilters()
	if err != nil {
		return nil, fmt.Errorf("Failed to format filters: %w", err)
	}
	var flags uint32
	if p.RequestAck {
		flags |= queryFlagAck
	}
	local := s.LocalMember()
	q := messageQuery{
		LTime:       s.queryClock.Time(),
		ID:          uint32(rand.Int32()),
		Addr:        local.Addr,
		Port:        local.Port,
		SourceNode:  local.Name,
		Filters:     filters,
		Flags:       flags,
		RelayFactor: p.RelayFactor,
		Timeout:     p.Timeout,
		Name:        name,
		Payload:     payload,
	}
	raw, err := encodeMessage(messageQueryType, &q)
	if err != nil {
		return nil, err
	}
	if len(raw) > s.config.QuerySizeLimit {
		return nil, fmt.Errorf("query exceeds limit of %d bytes", s.config.QuerySizeLimit)
	}

	resp := newQueryResponse(s.memberlist.NumMembers(), &q)
	if p.RequestAck && p.EndWhenAnswered {
		resp.expectAnswers(s.answerers(p.selector()))
	}
	s.registerQueryResponse(p.Timeout, resp)
	// Processing it locally witnesses its time, which advances the clock.
	s.handleQuery(&q)
	if !s.skipQueryGossip.Load() {
		s.queryBroadcasts.QueueBroadcast(&broadcast{msg: raw})
	}
	// Filters that select nobody known leave nothing to wait for.
	resp.endIfAnswered()
	if p.RequestAck || p.redeliverUnanswered {
		s.goFunc(func() { s.redeliverQuery(resp, raw, p) })
	}
	return resp, nil
}

// registerQueryResponse tracks a collector until its timeout.
func (s *Serf) registerQueryResponse(timeout time.Duration, resp *QueryResponse) {
	s.queryLock.Lock()
	defer s.queryLock.Unlock()
	s.queryResponse[resp.lTime] = resp
	resp.timer = time.AfterFunc(timeout, func() {
		s.queryLock.Lock()
		if s.queryResponse[resp.lTime] == resp {
			delete(s.queryResponse, resp.lTime)
		}
		s.queryLock.Unlock()
		resp.Close()
	})
}

// closeQueries ends every query still collecting; used at shutdown.
func (s *Serf) closeQueries() {
	s.queryLock.Lock()
	pending := s.queryResponse
	s.queryResponse = make(map[LamportTime]*QueryResponse)
	s.queryLock.Unlock()
	for _, r := range pending {
		r.timer.Stop()
		r.Close()
	}
}

// handleQuery processes a query, local or received, and reports whether to
// gossip it on.
func (s *Serf) handleQuery(q *messageQuery) bool {
	s.queryClock.Witness(q.LTime)

	s.queryLock.Lock()
	if q.LTime < s.queryMinTime {
		s.queryLock.Unlock()
		return false
	}
	size := LamportTime(len(s.queryBuffer))
	cur := s.queryClock.Time()
	if cur > size && q.LTime < cur-size {
		s.queryLock.Unlock()
		s.logger.Printf("[WARN] serf: received old query %s from time %d (current: %d)", q.Name, q.LTime, cur)
		return false
	}
	idx := q.LTime % size
	seen := s.queryBuffer[idx]
	if seen != nil && seen.LTime == q.LTime {
		if slices.Contains(seen.QueryIDs, q.ID) {
			s.queryLock.Unlock()
			return false
		}
	} else {
		seen = &queries{LTime: q.LTime}
		s.queryBuffer[idx] = seen
	}
	seen.QueryIDs = append(seen.QueryIDs, q.ID)
	s.queryLock.Unlock()

	s.metrics.IncrCounterWithLabels([]string{"serf", "queries"}, 1, s.labels)
	s.metrics.IncrCounterWithLabels([]string{"serf", "queries", q.Name}, 1, s.labels)

	rebroadcast := !q.noBroadcast()
	// A node the filters exclude still passes the query on.
	if !s.shouldProcessQuery(q.Filters) {
		return rebroadcast
	}

	if q.ack() {
		ack := messageQueryResponse{LTime: q.LTime, ID: q.ID, From: s.config.NodeName, Flags: queryFlagAck}
		raw, err := encodeMessage(messageQueryResponseType, &ack)
		if err != nil {
			s.logger.Printf("[ERR] serf: failed to format ack: %v", err)
		} else {
			dest := net.UDPAddr{IP: q.Addr, Port: int(q.Port)}
			addr := memberlist.Address{Addr: dest.String(), Name: q.SourceNode}
			if err := s.memberlist.SendToAddress(addr, raw); err != nil {
				s.logger.Printf("[ERR] serf: failed to send ack: %v", err)
			}
			if err := s.relayResponse(q.RelayFactor, dest, q.SourceNode, &ack); err != nil {
				s.logger.Printf("[ERR] serf: failed to relay ack: %v", err)
			}
		}
	}

	s.deliver(&Query{
		LTime:       q.LTime,
		Name:        q.Name,
		Payload:     q.Payload,
		serf:        s,
		id:          q.ID,
		addr:        q.Addr,
		port:        q.Port,
		sourceNode:  q.SourceNode,
		deadline:    time.Now().Add(q.Timeout),
		relayFactor: q.RelayFactor,
	})
	return rebroadcast
}

// shouldProcessQuery applies a query's filters to this node: all must
// pass. Filters that do not decode fail.
func (s *Serf) shouldProcessQuery(filters [][]byte) bool {
	for _, f := range filters {
		if len(f) == 0 {
			return false
		}
		switch filterType(f[0]) {
		case filterNodeType:
			var nodes filterNode
			if err := decodeMessage(f[1:], &nodes); err != nil {
				s.logger.Printf("[WARN] serf: failed to decode filterNodeType: %v", err)
				return false
			}
			if !slices.Contains(nodes, s.config.NodeName) {
				return false
			}
		case filterTagType:
			var ft filterTag
			if err := decodeMessage(f[1:], &ft); err != nil {
				s.logger.Printf("[WARN] serf: failed to decode filterTagType: %v", err)
				return false
			}
			s.memberLock.RLock()
			value := s.config.Tags[ft.Tag]
			s.memberLock.RUnlock()
			ok, err := regexp.MatchString(ft.Expr, value)
			if err != nil {
				s.logger.Printf("[WARN] serf: failed to compile filter regex (%s): %v", ft.Expr, err)
				return false
			}
			if !ok {
				return false
			}
		default:
			s.logger.Printf("[WARN] serf: query has unrecognized filter type: %d", f[0])
			return false
		}
	}
	return true
}

// handleQueryResponse routes an ack or response to the collector of the
// query it answers.
func (s *Serf) handleQueryResponse(resp *messageQueryResponse) {
	s.queryLock.RLock()
	q, ok := s.queryResponse[resp.LTime]
	s.queryLock.RUnlock()
	if !ok {
		s.logger.Printf("[WARN] serf: reply for non-running query (LTime: %d, ID: %d) From: %s",
			resp.LTime, resp.ID, resp.From)
		return
	}
	if q.id != resp.ID {
		s.logger.Printf("[WARN] serf: query reply ID mismatch (Local: %d, Response: %d)", q.id, resp.ID)
		return
	}
	if q.Finished() {
		return
	}
	var fresh bool
	var err error
	counter, duplicate := "query_responses", "query_duplicate_responses"
	if resp.ack() {
		fresh, err = q.addAck(resp.From)
		counter, duplicate = "query_acks", "query_duplicate_acks"
	} else {
		fresh, err = q.addResponse(NodeResponse{From: resp.From, Payload: resp.Payload})
	}
	if !fresh {
		counter = duplicate
	}
	s.metrics.IncrCounterWithLabels([]string{"serf", counter}, 1, s.labels)
	if err != nil {
		s.logger.Printf("[WARN] %v", err)
	}
}

// relayResponse sends an ack or response through up to relayFactor random
// alive members (not this node, and only members that can relay), each of
// which forwards it to the query's source.
func (s *Serf) relayResponse(relayFactor uint8, dest net.UDPAddr, destName string, resp *messageQueryResponse) error {
	if relayFactor == 0 {
		return nil
	}
	members := s.Members()
	if len(members) < int(relayFactor)+1 {
		return nil
	}
	raw, err := encodeRelayMessage(messageQueryResponseType, dest, destName, resp)
	if err != nil {
		return fmt.Errorf("failed to format relayed response: %w", err)
	}
	if len(raw) > s.config.QueryResponseSizeLimit {
		return fmt.Errorf("relayed response exceeds limit of %d bytes", s.config.QueryResponseSizeLimit)
	}
	relays := randomMembers(int(relayFactor), members, func(m Member) bool {
		return m.Status == StatusAlive && m.ProtocolMax >= 5 && m.Name != s.config.NodeName
	})
	for _, m := range relays {
		to := net.UDPAddr{IP: m.Addr, Port: int(m.Port)}
		if err := s.memberlist.SendToAddress(memberlist.Address{Addr: to.String(), Name: m.Name}, raw); err != nil {
			return fmt.Errorf("failed to send relay response: %w", err)
		}
	}
	return nil
}

// randomMembers picks up to k distinct members for which ok is true, with
// at most 3*len(members) random draws.
func randomMembers(k int, members []Member, ok func(Member) bool) []Member {
	picked := make([]Member, 0, k)
	chosen := make(map[string]bool, k)
	for i := 0; i < 3*len(members) && len(picked) < k; i++ {
		m := members[rand.IntN(len(members))]
		if chosen[m.Name] || !ok(m) {
			continue
		}
		chosen[m.Name] = true
		picked = append(picked, m)
	}
	return picked
}

// Query is a query delivered to this node. Respond answers it once,
// before its deadline.
type Query struct {
	LTime   LamportTime
	Name    string
	Payload []byte

	serf        *Serf
	id          uint32
	addr        []byte
	port        uint16
	sourceNode  string
	relayFactor uint8

	respLock sync.Mutex
	deadline time.Time // guarded by respLock; zero once responded
}

func (q *Query) EventType() EventType { return EventQuery }

// String reads "query: <name>", as Serf's agent logs it.
func (q *Query) String() string { return "query: " + q.Name }

// SourceNode is the name of the node that sent the query.
func (q *Query) SourceNode() string { return q.sourceNode }

// Deadline is when the sender stops collecting responses.
func (q *Query) Deadline() time.Time {
	q.respLock.Lock()
	defer q.respLock.Unlock()
	return q.deadline
}

// internal reports whether this is one of Serf's own _serf_ queries.
func (q *Query) internal() bool { return strings.HasPrefix(q.Name, InternalQueryPrefix) }

// Respond sends this node's answer to the query's source (and relays).
// The error wording, "failed to respond to key query", is Serf's for
// every query.
func (q *Query) Respond(payload []byte) error {
	resp := q.response(payload)
	raw, err := encodeMessage(messageQueryResponseType, &resp)
	if err != nil {
		return fmt.Errorf("failed to format response: %w", err)
	}
	if err := q.respond(raw, resp); err != nil {
		return fmt.Errorf("failed to respond to key query: %w", err)
	}
	return nil
}

func (q *Query) response(payload []byte) messageQueryResponse {
	return messageQueryResponse{LTime: q.LTime, ID: q.id, From: q.serf.config.NodeName, Payload: payload}
}

func (q *Query) checkResponseSize(raw []byte) error {
	if limit := q.serf.config.QueryResponseSizeLimit; len(raw) > limit {
		return fmt.Errorf("response exceeds limit of %d bytes", limit)
	}
	return nil
}

// respond sends an encoded response once, before the deadline.
func (q *Query) respond(raw []byte, resp messageQueryResponse) error {
	if err := q.checkResponseSize(raw); err != nil {
		return err
	}
	q.respLock.Lock()
	defer q.respLock.Unlock()
	if q.deadline.IsZero() {
		return errors.New("response already sent")
	}
	if time.Now().After(q.deadline) {
		return errors.New("response is past the deadline")
	}
	dest := net.UDPAddr{IP: q.addr, Port: int(q.port)}
	if err := q.serf.memberlist.SendToAddress(memberlist.Address{Addr: dest.String(), Name: q.sourceNode}, raw); err != nil {
		return err
	}
	if err := q.serf.relayResponse(q.relayFactor, dest, q.sourceNode, &resp); err != nil {
		return err
	}
	q.deadline = time.Time{}
	return nil
}
