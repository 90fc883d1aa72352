package serf

// Ending a query early.
//
// Serf collects a query's answers until its deadline, however soon they
// are all in. With QueryParam.EndWhenAnswered (and acks) the collector
// closes as soon as every member expected to answer has both acked and
// responded. A member that acks but whose handlers stay silent (a Serf
// agent responds only when a handler prints something) keeps the query
// open to its deadline, so the early end never reports fewer answers than
// the full wait would, save from members the sender did not know of.
//
// The collector stays registered until its deadline after an early end,
// so late copies (relayed duplicates) are still recognised and dropped
// quietly rather than logged as replies to a query no longer running.

// answerers returns the names of the members expected to answer a query:
// those alive or leaving that can process queries (protocol 4 and later)
// and that selects, the query's filters, passes.
func (s *Serf) answerers(selects func(Member) bool) []string {
	var names []string
	for _, m := range s.Members() {
		if m.Status != StatusAlive && m.Status != StatusLeaving {
			continue
		}
		if m.ProtocolMax < 4 || !selects(m) {
			continue
		}
		names = append(names, m.Name)
	}
	return names
}

// expectAnswers makes r close once every named member has both acked and
// responded. It is called before r is registered, so nothing has arrived.
func (r *QueryResponse) expectAnswers(names []string) {
	r.lock.Lock()
	defer r.lock.Unlock()
	r.expect = make(map[string]struct{}, len(names))
	for _, name := range names {
		r.expect[name] = struct{}{}
	}
	r.unanswered = len(r.expect)
}

// noteAnswer counts a fresh ack or response from a member and closes r
// once every expected member has both acked and responded. Must hold lock.
func (r *QueryResponse) noteAnswer(from string) {
	if r.expect == nil {
		return
	}
	if _, ok := r.expect[from]; !ok {
		return
	}
	_, acked := r.acks[from]
	_, responded := r.responses[from]
	if acked && responded {
		r.unanswered--
	}
	if r.unanswered == 0 {
		r.closeLocked()
	}
}

// endIfAnswered closes r if it ends early and no expected member is left
// to answer, which is at once when the filters select no known member.
func (r *QueryResponse) endIfAnswered() {
	r.lock.Lock()
	defer r.lock.Unlock()
	if r.expect != nil && r.unanswered == 0 {
		r.closeLocked()
	}
}
