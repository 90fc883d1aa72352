package serf

import (
	"net"

	"github.com/hashicorp/memberlist"
)

// delegate connects Serf to memberlist's gossip: node metadata, Serf
// messages piggy-backed on gossip, and the push/pull state exchange.
type delegate struct {
	serf *Serf
}

var _ memberlist.Delegate = (*delegate)(nil)

// NodeMeta returns the encoded tags. Create and SetTags reject tags that
// do not fit, so the limit can only be exceeded by a bug.
func (d *delegate) NodeMeta(limit int) []byte {
	meta := d.serf.localMeta()
	if len(meta) > limit {
		d.serf.logger.Printf("[ERR] serf: Encoded tags (%d bytes) exceed the metadata limit of %d bytes", len(meta), limit)
		return nil
	}
	return meta
}

// NotifyMsg handles one Serf message received through gossip or directly.
// It must not block: memberlist calls it from its packet handler.
func (d *delegate) NotifyMsg(buf []byte) {
	if len(buf) == 0 {
		return
	}
	s := d.serf
	s.metrics.AddSampleWithLabels([]string{"serf", "msgs", "received"}, float32(len(buf)), s.labels)

	t := messageType(buf[0])
	if s.config.messageDropper != nil && s.config.messageDropper(t) {
		return
	}

	var rebroadcast bool
	queue := s.broadcasts
	switch t {
	case messageLeaveType:
		var msg messageLeave
		if err := decodeMessage(buf[1:], &msg); err != nil {
			s.logger.Printf("[ERR] serf: Error decoding leave message: %s", err)
			return
		}
		s.logger.Printf("[DEBUG] serf: messageLeaveType: %s", msg.Node)
		rebroadcast = s.handleNodeLeaveIntent(&msg)

	case messageJoinType:
		var msg messageJoin
		if err := decodeMessage(buf[1:], &msg); err != nil {
			s.logger.Printf("[ERR] serf: Error decoding join message: %s", err)
			return
		}
		s.logger.Printf("[DEBUG] serf: messageJoinType: %s", msg.Node)
		rebroadcast = s.handleNodeJoinIntent(&msg)

	case messageUserEventType:
		var msg messageUserEvent
		if err := decodeMessage(buf[1:], &msg); err != nil {
			s.logger.Printf("[ERR] serf: Error decoding user event message: %s", err)
			return
		}
		s.logger.Printf("[DEBUG] serf: messageUserEventType: %s", msg.Name)
		rebroadcast = s.handleUserEvent(&msg)
		queue = s.eventBroadcasts

	case messageQueryType:
		var msg messageQuery
		if err := decodeMessage(buf[1:], &msg); err != nil {
			s.logger.Printf("[ERR] serf: Error decoding query message: %s", err)
			return
		}
		s.logger.Printf("[DEBUG] serf: messageQueryType: %s", msg.Name)
		rebroadcast = s.handleQuery(&msg)
		queue = s.queryBroadcasts

	case messageQueryResponseType:
		var msg messageQueryResponse
		if err := decodeMessage(buf[1:], &msg); err != nil {
			s.logger.Printf("[ERR] serf: Error decoding query response message: %s", err)
			return
		}
		s.logger.Printf("[DEBUG] serf: messageQueryResponseType: %v", msg.From)
		s.handleQueryResponse(&msg)

	case messageRelayType:
		header, inner, err := decodeRelayHeader(buf[1:])
		if err != nil {
			s.logger.Printf("[ERR] serf: Error decoding relay header: %s", err)
			return
		}
		dest := header.DestAddr.String()
		s.logger.Printf("[DEBUG] serf: Relaying response to addr: %s", dest)
		addr := memberlist.Address{Addr: dest, Name: header.DestName}
		if err := s.memberlist.SendToAddress(addr, inner); err != nil {
			s.logger.Printf("[ERR] serf: Error forwarding message to %s: %s", dest, err)
		}

	default:
		s.logger.Printf("[WARN] serf: Received message of unknown type: %d", t)
	}

	if rebroadcast {
		// memberlist may reuse buf once we return: queue a copy of the
		// exact bytes received, never a re-encoding.
		raw := append([]byte(nil), buf...)
		queue.QueueBroadcast(&broadcast{msg: raw})
	}
}

// GetBroadcasts fills a gossip packet with Serf messages: intents first,
// then queries, then user events, and last, once this node has begun to
// leave memberlist, its leave intent.
func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte {
	s := d.serf
	var msgs [][]byte
	used := 0
	for _, q := range []*memberlist.TransmitLimitedQueue{s.broadcasts, s.queryBroadcasts, s.eventBroadcasts} {
		for _, m := range q.GetBroadcasts(overhead, limit-used) {
			used += len(m) + overhead
			s.metrics.AddSampleWithLabels([]string{"serf", "msgs", "sent"}, float32(len(m)), s.labels)
			msgs = append(msgs, m)
		}
	}
	// After memberlist's own messages, in every packet (see Leave).
	if m := s.leaveIntent.Load(); m != nil && used+overhead+len(*m) <= limit {
		s.metrics.AddSampleWithLabels([]string{"serf", "msgs", "sent"}, float32(len(*m)), s.labels)
		msgs = append(msgs, *m)
	}
	return msgs
}

// LocalState is this node's half of a push/pull exchange.
func (d *delegate) LocalState(join bool) []byte {
	s := d.serf
	pp := messagePushPull{
		LTime:      s.clock.Time(),
		EventLTime: s.eventClock.Time(),
		QueryLTime: s.queryClock.Time(),
	}

	s.memberLock.RLock()
	pp.StatusLTimes = make(map[string]LamportTime, len(s.members))
	for name, m := range s.members {
		pp.StatusLTimes[name] = m.statusLTime
	}
	pp.LeftMembers = make([]string, 0, len(s.leftMembers))
	for _, m := range s.leftMembers {
		pp.LeftMembers = append(pp.LeftMembers, m.Name)
	}
	s.memberLock.RUnlock()

	// Encode under the event lock: the buffer's slots are replaced, and
	// their event lists appended to, under it.
	s.eventLock.RLock()
	pp.Events = s.eventBuffer
	raw, err := encodeMessage(messagePushPullType, &pp)
	s.eventLock.RUnlock()
	if err != nil {
		s.logger.Printf("[ERR] serf: Failed to encode local state: %v", err)
		return nil
	}
	return raw
}

// MergeRemoteState merges a peer's push/pull state: its clocks, the
// intents implied by its member status times and left list, and its
// buffered user events.
func (d *delegate) MergeRemoteState(buf []byte, join bool) {
	s := d.serf
	if len(buf) == 0 {
		s.logger.Printf("[ERR] serf: Remote state is zero bytes")
		return
	}
	if messageType(buf[0]) != messagePushPullType {
		s.logger.Printf("[ERR] serf: Remote state has bad type prefix: %v", buf[0])
		return
	}
	if s.config.messageDropper != nil && s.config.messageDropper(messagePushPullType) {
		return
	}
	var pp messagePushPull
	if err := decodeMessage(buf[1:], &pp); err != nil {
		s.logger.Printf("[ERR] serf: Failed to decode remote state: %v", err)
		return
	}
	s.mergePushPull(&pp, join)
}

// mergePushPull applies a decoded push/pull message.
func (s *Serf) mergePushPull(pp *messagePushPull, join bool) {
	// The peer has not stamped anything at its current times yet, hence
	// the minus one.
	if pp.LTime > 0 {
		s.clock.Witness(pp.LTime - 1)
	}
	if pp.EventLTime > 0 {
		s.eventClock.Witness(pp.EventLTime - 1)
	}
	if pp.QueryLTime > 0 {
		s.queryClock.Witness(pp.QueryLTime - 1)
	}

	// Left members first. Their leave time is unknown, but the leave was
	// accepted after their last status time, so one past it will do.
	left := make(map[string]bool, len(pp.LeftMembers))
	for _, name := range pp.LeftMembers {
		left[name] = true
		s.handleNodeLeaveIntent(&messageLeave{LTime: pp.StatusLTimes[name] + 1, Node: name})
	}
	for name, ltime := range pp.StatusLTimes {
		if left[name] {
			continue
		}
		s.handleNodeJoinIntent(&messageJoin{LTime: ltime, Node: name})
	}

	// On a join that ignores old events, nothing up to the peer's event
	// time is delivered.
	if join && s.eventJoinIgnore.Load() {
		s.eventLock.Lock()
		if pp.EventLTime > s.eventMinTime {
			s.eventMinTime = pp.EventLTime
		}
		s.eventLock.Unlock()
	}

	for _, events := range pp.Events {
		if events == nil {
			continue
		}
		for _, e := range events.Events {
			s.handleUserEvent(&messageUserEvent{LTime: events.LTime, Name: e.Name, Payload: e.Payload})
		}
	}
}

// eventDelegate turns memberlist's node notifications into member events.
type eventDelegate struct {
	serf *Serf
}

var _ memberlist.EventDelegate = (*eventDelegate)(nil)

func (e *eventDelegate) NotifyJoin(n *memberlist.Node)   { e.serf.handleNodeJoin(n) }
func (e *eventDelegate) NotifyLeave(n *memberlist.Node)  { e.serf.handleNodeLeave(n) }
func (e *eventDelegate) NotifyUpdate(n *memberlist.Node) { e.serf.handleNodeUpdate(n) }

// mergeDelegate lets Config.Merge veto members memberlist is about to add.
type mergeDelegate struct {
	serf *Serf
}

var (
	_ memberlist.MergeDelegate = (*mergeDelegate)(nil)
	_ memberlist.AliveDelegate = (*mergeDelegate)(nil)
)

func (m *mergeDelegate) NotifyMerge(nodes []*memberlist.Node) error {
	members := make([]*Member, 0, len(nodes))
	for _, n := range nodes {
		mem, err := m.nodeToMember(n)
		if err != nil {
			return err
		}
		members = append(members, mem)
	}
	return m.serf.config.Merge.NotifyMerge(members)
}

func (m *mergeDelegate) NotifyAlive(n *memberlist.Node) error {
	mem, err := m.nodeToMember(n)
	if err != nil {
		return err
	}
	return m.serf.config.Merge.NotifyMerge([]*Member{mem})
}

func (m *mergeDelegate) nodeToMember(n *memberlist.Node) (*Member, error) {
	if m.serf.config.ValidateNodeNames {
		if err := validateNodeName(n.Name); err != nil {
			return nil, err
		}
	}
	if len(n.Addr) != net.IPv4len && len(n.Addr) != net.IPv6len {
		return nil, errBadIPLength(len(n.Addr))
	}
	if len(n.Meta) > memberlist.MetaMaxSize {
		return nil, errTagsTooLarge
	}
	status := StatusNone
	if n.State == memberlist.StateLeft {
		status = StatusLeft
	}
	mem := m.serf.memberFromNode(n)
	mem.Status = status
	return &mem, nil
}
