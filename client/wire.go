package client

import (
	"net"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/openserf/serf/coordinate"
)

// IPC protocol versions a client may ask for in the handshake. The agent
// answers any other version with ErrUnsupportedIPCVersion.
const (
	MinIPCVersion = 1
	MaxIPCVersion = 1
)

// DefaultRPCAddr is the address an agent's RPC server listens on, and the
// command-line client dials, unless told otherwise.
const DefaultRPCAddr = "127.0.0.1:7373"

// Command names, sent in RequestHeader.Command. They are on the wire: the
// agent matches them byte for byte and answers anything else with
// ErrUnsupportedCommand, then hangs up.
const (
	HandshakeCommand       = "handshake"
	AuthCommand            = "auth"
	EventCommand           = "event"
	ForceLeaveCommand      = "force-leave"
	JoinCommand            = "join"
	MembersCommand         = "members"
	MembersFilteredCommand = "members-filtered"
	TagsCommand            = "tags"
	StreamCommand          = "stream"
	MonitorCommand         = "monitor"
	StopCommand            = "stop"
	LeaveCommand           = "leave"
	QueryCommand           = "query"
	RespondCommand         = "respond"
	InstallKeyCommand      = "install-key"
	UseKeyCommand          = "use-key"
	RemoveKeyCommand       = "remove-key"
	ListKeysCommand        = "list-keys"
	StatsCommand           = "stats"
	GetCoordinateCommand   = "get-coordinate"
)

// RemoteError is an error the agent reported in ResponseHeader.Error. Its
// text is the agent's string, unchanged, so that commands can print it as
// Serf does and scripts can match it.
//
// The constants below are the strings the agent's RPC layer produces
// itself; compare with errors.Is. Errors the agent relays from the Serf
// library or from memberlist (size limits, join and key failures) arrive
// as RemoteErrors too, but are defined where they are produced.
type RemoteError string

func (e RemoteError) Error() string { return string(e) }

// Errors of the agent's RPC layer. The text is on the wire; the agent
// writes string(ErrXxx) into ResponseHeader.Error.
const (
	// ErrHandshakeRequired answers any command sent before the handshake.
	// The agent closes the connection after sending it.
	ErrHandshakeRequired = RemoteError("Handshake required")

	// ErrUnsupportedCommand answers an unknown command name. The agent
	// closes the connection after sending it.
	ErrUnsupportedCommand = RemoteError("Unsupported command")

	// ErrUnsupportedIPCVersion answers a handshake whose version is not
	// in [MinIPCVersion, MaxIPCVersion].
	ErrUnsupportedIPCVersion = RemoteError("Unsupported IPC version")

	// ErrDuplicateHandshake answers a second handshake.
	ErrDuplicateHandshake = RemoteError("Handshake already performed")

	// ErrInvalidAuthToken answers an auth whose key does not match the
	// agent's rpc_auth, including any non-empty key when the agent has
	// none.
	ErrInvalidAuthToken = RemoteError("Invalid authentication token")

	// ErrAuthRequired answers every command but handshake and auth until
	// a successful auth, when the agent has an rpc_auth key. It never
	// carries a body. The agent does not read the request's body either:
	// it decodes it as the next request header, into the header it just
	// used, so Command and Seq stay the same, and refuses it again. A
	// refused request with a body thus gets this answer twice.
	ErrAuthRequired = RemoteError("Authentication required")

	// ErrInvalidFilter answers a stream whose Type does not parse as an
	// event filter.
	ErrInvalidFilter = RemoteError("Invalid event filter")

	// ErrStreamExists answers a stream whose Seq is already streaming.
	ErrStreamExists = RemoteError("Stream with given sequence exists")

	// ErrMonitorExists answers a second monitor on one connection.
	ErrMonitorExists = RemoteError("Monitor already exists")

	// ErrInvalidQueryID answers a respond whose ID is unknown or past its
	// query's deadline.
	ErrInvalidQueryID = RemoteError("No pending queries matching ID")
)

// UnknownLogLevelError is the agent's answer to a monitor whose LogLevel,
// upper-cased, is not a level it logs at, e.g. "Unknown log level: FOO".
// level is given as the agent quotes it, that is upper-cased.
func UnknownLogLevelError(level string) RemoteError {
	return RemoteError("Unknown log level: " + level)
}

// Query record types, in QueryRecord.Type.
const (
	QueryRecordAck      = "ack"
	QueryRecordResponse = "response"
	QueryRecordDone     = "done"
)

// NewCodecHandle returns the msgpack handle both ends of an RPC connection
// encode and decode with: strings as msgpack str (fixstr, str8...), byte
// slices and IPs as bin, struct fields as map keys in sorted order, and
// time.Time not built in (Serf's legacy setting; the protocol never
// carries a time). The gossip handle in package serf differs: it writes
// the older raw format without str8 or bin.
//
// A handle must not be changed once in use; it is then safe to share.
func NewCodecHandle() *codec.MsgpackHandle {
	h := &codec.MsgpackHandle{WriteExt: true}
	h.TimeNotBuiltin = true
	return h
}

// The records below are the request and response bodies. Their field
// names and Go types are the wire format: msgpack maps keyed by field
// name, matched case-sensitively. Do not rename, retype or tag them.

// RequestHeader starts every request. A body follows for the commands
// that take one.
type RequestHeader struct {
	Command string
	Seq     uint64
}

// ResponseHeader starts every response and every stream record. Seq is the
// Seq of the request answered, or of the request that opened the stream.
// Error is "" on success.
type ResponseHeader struct {
	Seq   uint64
	Error string
}

// HandshakeRequest is the body of handshake, the first command on every
// connection.
type HandshakeRequest struct {
	Version int32
}

// AuthRequest is the body of auth.
type AuthRequest struct {
	AuthKey string
}

// EventRequest is the body of event: a user event to broadcast.
type EventRequest struct {
	Name     string
	Payload  []byte
	Coalesce bool
}

// ForceLeaveRequest is the body of force-leave. Prune also erases the
// member from the member list at once.
type ForceLeaveRequest struct {
	Node  string
	Prune bool
}

// JoinRequest is the body of join. Existing holds addresses to contact;
// Replay asks for user events from before the join.
type JoinRequest struct {
	Existing []string
	Replay   bool
}

// JoinResponse answers join. The agent sends it even when Error is set:
// Num nodes may have been contacted before the error.
type JoinResponse struct {
	Num int32
}

// MembersFilteredRequest is the body of members-filtered. Each value is a
// regular expression the agent anchors as "^expr$"; an empty Status or
// Name does not filter.
type MembersFilteredRequest struct {
	Tags   map[string]string
	Status string
	Name   string
}

// MembersResponse answers members and members-filtered.
type MembersResponse struct {
	Members []Member
}

// Member is one member of the cluster as the agent reports it.
type Member struct {
	Name        string
	Addr        net.IP // 4 bytes for IPv4, 16 for IPv6, as gossiped
	Port        uint16 // gossip port
	Tags        map[string]string
	Status      string // none, alive, leaving, left or failed
	ProtocolMin uint8  // memberlist protocol range and current version
	ProtocolMax uint8
	ProtocolCur uint8
	DelegateMin uint8 // Serf protocol range and current version
	DelegateMax uint8
	DelegateCur uint8
}

// KeyRequest is the body of install-key, use-key and remove-key: a
// base64-encoded key.
type KeyRequest struct {
	Key string
}

// KeyResponse answers the four key commands, also when Error is set.
// Messages maps a node name to the error that node reported; Keys (only
// for list-keys) maps a base64 key to the number of nodes holding it.
type KeyResponse struct {
	Messages map[string]string
	Keys     map[string]int
	NumNodes int
	NumErr   int
	NumResp  int
}

// MonitorRequest is the body of monitor. The agent upper-cases LogLevel.
type MonitorRequest struct {
	LogLevel string
}

// StreamRequest is the body of stream: an event filter as in an event
// handler spec without the script, e.g. "member-join,user:deploy";
// "" means "*".
type StreamRequest struct {
	Type string
}

// StopRequest is the body of stop: the Seq of the stream or monitor to end.
type StopRequest struct {
	Stop uint64
}

// TagsRequest is the body of tags: the agent's tags become its current
// tags without DeleteTags, overlaid with Tags.
type TagsRequest struct {
	Tags       map[string]string
	DeleteTags []string
}

// QueryRequest is the body of query. A zero Timeout lets the agent pick
// its default; on the wire it is an int64 of nanoseconds.
type QueryRequest struct {
	FilterNodes []string
	FilterTags  map[string]string
	RequestAck  bool
	RelayFactor uint8
	Timeout     time.Duration
	Name        string
	Payload     []byte
}

// RespondRequest is the body of respond. ID is a QueryEventRecord's ID.
type RespondRequest struct {
	ID      uint64
	Payload []byte
}

// QueryRecord is streamed for a query: one per ack (Payload nil), one
// per response, then one with Type QueryRecordDone and no From at the
// query's deadline.
type QueryRecord struct {
	Type    string
	From    string
	Payload []byte
}

// LogRecord is streamed for a monitor: one log line without its newline.
type LogRecord struct {
	Log string
}

// UserEventRecord is streamed for a user event. Event is "user".
type UserEventRecord struct {
	Event    string
	LTime    uint64
	Name     string
	Payload  []byte
	Coalesce bool
}

// QueryEventRecord is streamed for a query reaching the agent. Event is
// "query". ID is the agent's per-connection number for answering it with
// respond until the query's deadline.
type QueryEventRecord struct {
	Event   string
	ID      uint64
	LTime   uint64
	Name    string
	Payload []byte
}

// MemberEventRecord is streamed for a member event. Event is one of
// member-join, member-leave, member-failed, member-update, member-reap.
type MemberEventRecord struct {
	Event   string
	Members []Member
}

// Coordinate is a node's Vivaldi network coordinate, the same type as in
// package coordinate, so that its methods (DistanceTo) are at hand.
type Coordinate = coordinate.Coordinate

// CoordinateRequest is the body of get-coordinate.
type CoordinateRequest struct {
	Node string
}

// CoordinateResponse answers get-coordinate. Ok is false, and Coord zero,
// when the agent has no coordinate for the node.
type CoordinateResponse struct {
	Coord Coordinate
	Ok    bool
}

// replyHasBody reports whether the agent follows its reply header to
// command with a body, given the header's Error. The gate errors (no
// handshake, no auth, unknown command) are sent before the command runs
// and never have one; past the gate, the commands that return data send
// it even on error.
func replyHasBody(command, errText string) bool {
	switch RemoteError(errText) {
	case ErrHandshakeRequired, ErrAuthRequired, ErrUnsupportedCommand:
		return false
	}
	switch command {
	case JoinCommand, MembersCommand, MembersFilteredCommand,
		InstallKeyCommand, UseKeyCommand, RemoveKeyCommand, ListKeysCommand,
		StatsCommand, GetCoordinateCommand:
		return true
	}
	return false
}
