package serf

import (
	"math/rand/v2"
	"net"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/hashicorp/memberlist"
)

// Query redelivery.
//
// Gossip hands a query to a few random members a few times each
// (RetransmitMult x ceil(log10(N+1)) transmissions per holder, 4 in a
// cluster of up to 9). In a small cluster that now and then misses a
// member: with six agents on loopback, one query in 25 to 40 is never
// seen by one of them, in Serf as in ours without redelivery. User
// events are repaired by push/pull; queries are not, so the member never
// acks and a key rotation reports "5/6 nodes reported success".
//
// The sender knows who should answer: every live member that passes the
// filters. When the query asks for acks (or is a key query, which every
// member answers), the sender sends the query's own bytes directly to
// the members that have not answered yet, at a quarter and at half of
// the timeout. A member that already has the query drops the copy as a
// duplicate, in Serf as in ours, so nothing is processed twice and the
// wire format is unchanged.

// maxRedeliveries bounds the direct sends of one round, so a partition
// never turns a query into a burst of thousands of packets.
const maxRedeliveries = 64

// redeliverQuery runs the redelivery rounds of one query until its
// collector closes or the node shuts down.
func (s *Serf) redeliverQuery(r *QueryResponse, raw []byte, p QueryParam) {
	start := time.Now()
	selects := p.selector()
	first := max(p.Timeout/4, 2*s.config.MemberlistConfig.GossipInterval)
	for _, at := range []time.Duration{first, 2 * first} {
		if at >= p.Timeout {
			return
		}
		t := time.NewTimer(time.Until(start.Add(at)))
		select {
		case <-t.C:
		case <-r.doneCh:
			t.Stop()
			return
		case <-s.shutdownCh:
			t.Stop()
			return
		}
		s.resendQuery(r, raw, selects, p.RequestAck)
	}
}

// resendQuery sends the query to the members that should have answered
// and have not, and returns how many it sent to.
func (s *Serf) resendQuery(r *QueryResponse, raw []byte, selects func(Member) bool, byAck bool) int {
	answered := r.answered(byAck)
	if answered == nil {
		return 0
	}
	var missing []Member
	for _, m := range s.Members() {
		if m.Name == s.config.NodeName || m.Status != StatusAlive || m.ProtocolMax < 4 {
			continue
		}
		if _, ok := answered[m.Name]; ok || !selects(m) {
			continue
		}
		missing = append(missing, m)
	}
	if len(missing) == 0 {
		return 0
	}
	if len(missing) > maxRedeliveries {
		rand.Shuffle(len(missing), func(i, j int) { missing[i], missing[j] = missing[j], missing[i] })
		missing = missing[:maxRedeliveries]
	}
	sent := 0
	for _, m := range missing {
		to := net.JoinHostPort(m.Addr.String(), strconv.Itoa(int(m.Port)))
		if err := s.memberlist.SendToAddress(memberlist.Address{Addr: to, Name: m.Name}, raw); err != nil {
			s.logger.Printf("[DEBUG] serf: failed to resend query to %s: %v", m.Name, err)
			continue
		}
		sent++
	}
	s.logger.Printf("[DEBUG] serf: resent query (LTime: %d, ID: %d) to %d members that had not answered",
		r.lTime, r.id, sent)
	s.metrics.IncrCounterWithLabels([]string{"serf", "query_redeliveries"}, float32(sent), s.labels)
	return sent
}

// answered returns the names that acked (byAck) or responded so far, or
// nil once the collector is closed.
func (r *QueryResponse) answered(byAck bool) map[string]struct{} {
	r.lock.Lock()
	defer r.lock.Unlock()
	if r.closed {
		return nil
	}
	from := r.responses
	if byAck && r.acks != nil {
		from = r.acks
	}
	out := make(map[string]struct{}, len(from))
	for name := range from {
		out[name] = struct{}{}
	}
	return out
}

// selector returns whether a member passes the query's filters, judged
// by the sender from the member's gossiped tags the way the member itself
// will judge them. A tag expression that does not compile selects nobody.
func (p *QueryParam) selector() func(Member) bool {
	exprs := make(map[string]*regexp.Regexp, len(p.FilterTags))
	for tag, expr := range p.FilterTags {
		re, err := regexp.Compile(expr)
		if err != nil {
			return func(Member) bool { return false }
		}
		exprs[tag] = re
	}
	return func(m Member) bool {
		if len(p.FilterNodes) > 0 && !slices.Contains(p.FilterNodes, m.Name) {
			return false
		}
		for tag, re := range exprs {
			if !re.MatchString(m.Tags[tag]) {
				return false
			}
		}
		return true
	}
}
