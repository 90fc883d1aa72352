package serf

import "github.com/hashicorp/memberlist"

// broadcast is one Serf message in a memberlist transmit queue. Serf
// messages never replace one another, so every broadcast is unique.
type broadcast struct {
	msg    []byte
	notify chan<- struct{}
}

var _ memberlist.UniqueBroadcast = (*broadcast)(nil)

func (b *broadcast) Invalidates(memberlist.Broadcast) bool { return false }
func (b *broadcast) UniqueBroadcast()                      {}
func (b *broadcast) Message() []byte                       { return b.msg }

// Finished closes notify once the queue is done with the message.
func (b *broadcast) Finished() {
	if b.notify != nil {
		close(b.notify)
	}
}
