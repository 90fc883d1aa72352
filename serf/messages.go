package serf

import (
	"bytes"
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

// messageType is the first byte of every Serf payload carried by
// memberlist. Append only: the numbers are on the wire.
type messageType uint8

const (
	messageLeaveType            messageType = 0
	messageJoinType             messageType = 1
	messagePushPullType         messageType = 2
	messageUserEventType        messageType = 3
	messageQueryType            messageType = 4
	messageQueryResponseType    messageType = 5
	messageConflictResponseType messageType = 6
	messageKeyRequestType       messageType = 7
	messageKeyResponseType      messageType = 8
	messageRelayType            messageType = 9
)

// Query and query response flags. Append only: the bits are on the wire.
const (
	// queryFlagAck asks every receiver that passes the filters to ack.
	queryFlagAck uint32 = 1 << 0
	// queryFlagNoBroadcast tells receivers not to gossip the query on.
	queryFlagNoBroadcast uint32 = 1 << 1
)

// filterType is the first byte of an encoded query filter. Append only.
type filterType uint8

const (
	filterNodeType filterType = 0
	filterTagType  filterType = 1
)

// The message bodies below are encoded as msgpack maps keyed by the Go
// field names, which is why the names must never change. go-msgpack emits
// the keys sorted, whatever the declaration order.

// messageJoin announces, with a Lamport time, that a node is in the cluster.
type messageJoin struct {
	LTime LamportTime
	Node  string
}

// messageLeave announces that a node is leaving (or is forced out).
// Prune asks every node to erase it at once instead of keeping a tombstone.
type messageLeave struct {
	LTime LamportTime
	Node  string
	Prune bool
}

// messagePushPull is the state exchanged on join and periodically.
type messagePushPull struct {
	LTime        LamportTime            // member clock
	StatusLTimes map[string]LamportTime // every known member's status time
	LeftMembers  []string               // members in state left
	EventLTime   LamportTime            // event clock
	Events       []*userEvents          // the whole event buffer, nil slots included
	QueryLTime   LamportTime            // query clock
}

// userEvents are the events seen at one Lamport time.
type userEvents struct {
	LTime  LamportTime
	Events []userEvent
}

// userEvent is one buffered event, enough to recognise a duplicate.
type userEvent struct {
	Name    string
	Payload []byte
}

func (u userEvent) equal(o userEvent) bool {
	return u.Name == o.Name && bytes.Equal(u.Payload, o.Payload)
}

// messageUserEvent is a custom event. CC ("can coalesce") is false in
// events from Serf 0.1, which predates coalescing.
type messageUserEvent struct {
	LTime   LamportTime
	Name    string
	Payload []byte
	CC      bool
}

// messageQuery is a query gossiped to the cluster.
type messageQuery struct {
	LTime       LamportTime   // query clock time
	ID          uint32        // random, pairs responses with the query
	Addr        []byte        // source IP, 4 or 16 bytes, for direct replies
	Port        uint16        // source memberlist port
	SourceNode  string        // source node name
	Filters     [][]byte      // encoded filters, all must pass
	Flags       uint32        // queryFlag* bits
	RelayFactor uint8         // how many relays each response also goes through
	Timeout     time.Duration // how long after delivery a response is useful
	Name        string
	Payload     []byte
}

func (m *messageQuery) ack() bool         { return m.Flags&queryFlagAck != 0 }
func (m *messageQuery) noBroadcast() bool { return m.Flags&queryFlagNoBroadcast != 0 }

// filterNode limits a query to the named nodes.
type filterNode []string

// filterTag limits a query to nodes whose tag matches Expr (unanchored).
type filterTag struct {
	Tag  string
	Expr string
}

// messageQueryResponse is an ack or a response, sent straight to the
// query's source.
type messageQueryResponse struct {
	LTime   LamportTime // the query's time
	ID      uint32      // the query's ID
	From    string      // responding node
	Flags   uint32      // queryFlagAck for an ack
	Payload []byte
}

func (m *messageQueryResponse) ack() bool { return m.Flags&queryFlagAck != 0 }

// relayHeader precedes a relayed message: where the relay must forward it.
type relayHeader struct {
	DestAddr net.UDPAddr
	DestName string
}

// gossipHandle encodes like Serf: legacy msgpack with raw strings and no
// bin type, time.Time not built in. Handles are safe for concurrent use
// once configured, and sharing one keeps go-msgpack's type cache warm.
var gossipHandle = newGossipHandle()

func newGossipHandle() *codec.MsgpackHandle {
	h := &codec.MsgpackHandle{}
	h.TimeNotBuiltin = true
	return h
}

// decodeMessage decodes a msgpack body (the bytes after the type byte).
func decodeMessage(buf []byte, out any) error {
	return codec.NewDecoderBytes(buf, gossipHandle).Decode(out)
}

// encodeMessage encodes a message with its type byte in front.
func encodeMessage(t messageType, msg any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte(uint8(t))
	if err := codec.NewEncoder(&buf, gossipHandle).Encode(msg); err != nil {
		return nil, fmt.Errorf("encode %T: %w", msg, err)
	}
	return buf.Bytes(), nil
}

// encodeRelayMessage wraps a message for a relay: type 9, the header naming
// the final destination, then the message with its own type byte.
func encodeRelayMessage(t messageType, addr net.UDPAddr, name string, msg any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte(uint8(messageRelayType))
	enc := codec.NewEncoder(&buf, gossipHandle)
	if err := enc.Encode(relayHeader{DestAddr: addr, DestName: name}); err != nil {
		return nil, fmt.Errorf("encode relay header: %w", err)
	}
	buf.WriteByte(uint8(t))
	if err := enc.Encode(msg); err != nil {
		return nil, fmt.Errorf("encode relayed %T: %w", msg, err)
	}
	return buf.Bytes(), nil
}

// decodeRelayHeader splits a relay message body (after the type byte) into
// its header and the message to forward verbatim.
func decodeRelayHeader(buf []byte) (relayHeader, []byte, error) {
	var h relayHeader
	r := bytes.NewReader(buf)
	if err := codec.NewDecoder(r, gossipHandle).Decode(&h); err != nil {
		return h, nil, err
	}
	return h, buf[len(buf)-r.Len():], nil
}

// encodeFilter encodes a query filter with its type byte in front.
func encodeFilter(t filterType, f any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte(uint8(t))
	if err := codec.NewEncoder(&buf, gossipHandle).Encode(f); err != nil {
		return nil, fmt.Errorf("encode filter: %w", err)
	}
	return buf.Bytes(), nil
}
