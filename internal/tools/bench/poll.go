package bench

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Counts is what an agent's "stats" RPC says about its member list:
// every member it knows (itself included), and how many of them are
// failed or left; and about its health: memberlist's Lifeguard score
// (0 is healthy; each point stretches this agent's probe interval and
// timeout by one more) and the messages its three broadcast queues
// (intents, user events, queries) still hold for gossip.
type Counts struct {
	Members, Failed, Left int
	Health, Queued        int
}

// Alive is the number of members not failed or left.
func (c Counts) Alive() int { return c.Members - c.Failed - c.Left }

// ParseCounts reads the counts from a stats reply.
func ParseCounts(stats map[string]map[string]string) (Counts, bool) {
	s, ok := stats["serf"]
	if !ok {
		return Counts{}, false
	}
	var c Counts
	for _, f := range []struct {
		key string
		dst *int
	}{{"members", &c.Members}, {"failed", &c.Failed}, {"left", &c.Left}} {
		n, err := strconv.Atoi(s[f.key])
		if err != nil {
			return Counts{}, false
		}
		*f.dst = n
	}
	// Both binaries report these; a reply without them reads as healthy
	// and quiet.
	c.Health, _ = strconv.Atoi(s["health_score"])
	for _, key := range []string{"intent_queue", "event_queue", "query_queue"} {
		n, _ := strconv.Atoi(s[key])
		c.Queued += n
	}
	return c, true
}

// counts asks a for its counts.
func (a *Agent) counts() (Counts, error) {
	stats, err := a.rpc.Stats()
	if err != nil {
		return Counts{}, err
	}
	c, ok := ParseCounts(stats)
	if !ok {
		return Counts{}, errBadStats
	}
	return c, nil
}

type statsError string

func (e statsError) Error() string { return string(e) }

const errBadStats = statsError(`stats reply has no numeric serf members/failed/left`)

// PollUntil asks each of agents for its counts every interval (the
// agents' polls spread over the interval) until done holds for every
// agent, deadline passes or ctx ends. It returns, per agent, when done
// first held (zero if never) and the last counts seen.
//
// Why polling rather than the RPC event stream: the agent coalesces
// member events (3 s at most, flushed after 1 s of quiet, in Serf's agent
// and ours), so a stream reports a join or a failure 1 to 3 s late. The
// stats reply is a few hundred bytes whatever N is, so polling it costs
// little, and only agents not yet done are polled. A time is the midpoint
// between the last poll that said no and the first that said yes, which
// is within interval/2 of the truth.
func PollUntil(ctx context.Context, agents []*Agent, interval time.Duration, deadline time.Time,
	done func(i int, c Counts) bool) (at []time.Time, last []Counts) {
	return PollProgress(ctx, agents, interval, deadline, 0, done)
}

// PollProgress is PollUntil that also gives up once stall (if above
// zero) has passed without progress: no agent became done and none
// reported an alive count other than its previous one. A join that has
// stalled so is not going to converge before a cap of minutes, as a
// member list is repaired by push/pull only, every 30 s to 90 s at these
// sizes; waiting it out would cost the run its time and tell nothing
// more. It also gives up once stall has passed since the start while
// some agent still counts fewer than half of the agents alive
// (farFromFormed): such a join keeps moving, a member here and there,
// but gossip has had over a hundred rounds to spread it, and push/pull,
// every one to two minutes at the sizes where this happens (real Serf's
// seed hanging up on joiners), cannot finish it before a cap of 90 s.
func PollProgress(ctx context.Context, agents []*Agent, interval time.Duration, deadline time.Time,
	stall time.Duration, done func(i int, c Counts) bool) (at []time.Time, last []Counts) {
	at = make([]time.Time, len(agents))
	last = make([]Counts, len(agents))
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var progress atomic.Int64 // unix nanoseconds of the last progress
	start := time.Now()
	progress.Store(start.UnixNano())
	alive := make([]atomic.Int32, len(agents)) // last alive count; -1 once done
	var wg sync.WaitGroup
	if stall > 0 {
		wg.Go(func() {
			for sleep(ctx, interval) {
				if time.Since(time.Unix(0, progress.Load())) > stall ||
					time.Since(start) > stall && farFromFormed(alive) {
					cancel()
					return
				}
			}
		})
	}
	var left atomic.Int64 // agents not yet done
	left.Store(int64(len(agents)))
	for i, a := range agents {
		wg.Go(func() {
			offset := interval * time.Duration(i) / time.Duration(len(agents))
			prev := time.Now()
			count := -1
			if !sleep(ctx, offset) {
				return
			}
			for {
				asked := time.Now()
				c, err := a.counts()
				if err == nil {
					last[i] = c
					if c.Alive() != count {
						count = c.Alive()
						alive[i].Store(int32(count))
						progress.Store(time.Now().UnixNano())
					}
					if done(i, c) {
						at[i] = prev.Add(asked.Sub(prev) / 2)
						alive[i].Store(-1)
						if left.Add(-1) == 0 {
							cancel() // ends the stall watch
						}
						return
					}
				}
				prev = asked
				if !sleep(ctx, interval-time.Since(asked)) {
					return
				}
			}
		})
	}
	wg.Wait()
	return at, last
}

// farFromFormed reports whether some agent not yet done (its count is
// -1 once done, 0 before its first answer) last counted fewer than half
// of the agents alive.
func farFromFormed(alive []atomic.Int32) bool {
	for i := range alive {
		if a := alive[i].Load(); a >= 0 && 2*int(a) < len(alive) {
			return true
		}
	}
	return false
}
