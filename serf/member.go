package serf

import (
	"fmt"
	"net"
	"time"
)

// MemberStatus is what this node believes of a member. The numbers are on
// the wire (inside name-conflict responses): append only.
type MemberStatus int

const (
	StatusNone MemberStatus = iota
	StatusAlive
	StatusLeaving
	StatusLeft
	StatusFailed
)

func (s MemberStatus) String() string {
	switch s {
	case StatusNone:
		return "none"
	case StatusAlive:
		return "alive"
	case StatusLeaving:
		return "leaving"
	case StatusLeft:
		return "left"
	case StatusFailed:
		return "failed"
	default:
		return fmt.Sprintf("unknown(%d)", int(s))
	}
}

// Member is a node of the cluster as this node knows it. Its field names
// are on the wire (name-conflict responses, RPC): never rename them.
type Member struct {
	Name   string
	Addr   net.IP
	Port   uint16
	Tags   map[string]string
	Status MemberStatus

	// memberlist protocol range and version in use.
	ProtocolMin uint8
	ProtocolMax uint8
	ProtocolCur uint8

	// Serf protocol range and version in use.
	DelegateMin uint8
	DelegateMax uint8
	DelegateCur uint8
}

// memberState is a member plus what the node tracks about it. Guarded by
// Serf.memberLock.
type memberState struct {
	Member
	statusLTime LamportTime // time of the last intent accepted for it
	leaveTime   time.Time   // when it was seen leave or fail
}

// removeMember drops the named member from a failed or left list.
func removeMember(list []*memberState, name string) []*memberState {
	for i, m := range list {
		if m.Name == name {
			last := len(list) - 1
			list[i] = list[last]
			list[last] = nil
			return list[:last]
		}
	}
	return list
}
