package serf

import "fmt"

// EventType tells events apart. Append only: handlers and RPC clients see
// the names.
type EventType int

const (
	EventMemberJoin EventType = iota
	EventMemberLeave
	EventMemberFailed
	EventMemberUpdate
	EventMemberReap
	EventUser
	EventQuery
)

func (t EventType) String() string {
	switch t {
	case EventMemberJoin:
		return "member-join"
	case EventMemberLeave:
		return "member-leave"
	case EventMemberFailed:
		return "member-failed"
	case EventMemberUpdate:
		return "member-update"
	case EventMemberReap:
		return "member-reap"
	case EventUser:
		return "user"
	case EventQuery:
		return "query"
	default:
		return fmt.Sprintf("unknown-event(%d)", int(t))
	}
}

// Event is anything delivered on Config.EventCh.
type Event interface {
	EventType() EventType
	String() string
}

// MemberEvent is a membership change of one or more members (several when
// coalesced).
type MemberEvent struct {
	Type    EventType
	Members []Member
}

func (m MemberEvent) EventType() EventType { return m.Type }

// String is the event name handlers and logs use, e.g. "member-join".
func (m MemberEvent) String() string { return m.Type.String() }

// UserEvent is a custom event sent with Serf.UserEvent on some node.
type UserEvent struct {
	LTime    LamportTime
	Name     string
	Payload  []byte
	Coalesce bool
}

func (u UserEvent) EventType() EventType { return EventUser }

// String reads "user-event: <name>", as Serf's agent logs it.
func (u UserEvent) String() string { return "user-event: " + u.Name }
