//go:build unix

package event

import (
	"errors"
	"fmt"
	"log"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
)

// fakeQuery records Respond calls and, like serf.Query, accepts only the
// first.
type fakeQuery struct {
	lock  sync.Mutex
	calls []string
}

func (q *fakeQuery) Respond(p []byte) error {
	q.lock.Lock()
	defer q.lock.Unlock()
	q.calls = append(q.calls, string(p))
	if len(q.calls) > 1 {
		return errors.New("failed to respond to key query: response already sent")
	}
	return nil
}

func (q *fakeQuery) Calls() []string {
	q.lock.Lock()
	defer q.lock.Unlock()
	return slices.Clone(q.calls)
}

func TestAnswerOrder(t *testing.T) {
	type step struct {
		slot    int
		output  string // "" for none
		abandon bool
	}
	for _, c := range []struct {
		name  string
		n     int
		steps []step
		want  [][]string // the Respond calls after each step
	}{
		{
			name:  "later waits for an earlier one that prints nothing",
			n:     2,
			steps: []step{{slot: 1, output: "b"}, {slot: 0}},
			want:  [][]string{nil, {"b"}},
		},
		{
			name:  "earlier output answers whatever finishes first",
			n:     2,
			steps: []step{{slot: 1, output: "b"}, {slot: 0, output: "a"}},
			want:  [][]string{nil, {"a", "b"}},
		},
		{
			name:  "in order",
			n:     3,
			steps: []step{{slot: 0, output: "a"}, {slot: 1}, {slot: 2, output: "c"}},
			want:  [][]string{{"a"}, {"a"}, {"a", "c"}},
		},
		{
			name:  "a gap holds up the rest",
			n:     3,
			steps: []step{{slot: 2, output: "c"}, {slot: 0}, {slot: 1, output: "b"}},
			want:  [][]string{nil, nil, {"b", "c"}},
		},
		{
			name:  "abandoned earlier one: no answer",
			n:     2,
			steps: []step{{slot: 1, output: "b"}, {slot: 0, abandon: true}},
			want:  [][]string{nil, nil},
		},
		{
			name:  "abandoned later one: the earlier answers",
			n:     3,
			steps: []step{{slot: 1, abandon: true}, {slot: 2, output: "c"}, {slot: 0, output: "a"}},
			want:  [][]string{nil, nil, {"a"}},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := &fakeQuery{}
			var logs logBuffer
			a := newAnswer(q, "query: x", c.n, log.New(&logs, "", 0))
			for i, s := range c.steps {
				if s.abandon {
					a.abandon(s.slot)
				} else {
					var out []byte
					if s.output != "" {
						out = []byte(s.output)
					}
					a.finish(s.slot, out)
				}
				if got := q.Calls(); !slices.Equal(got, c.want[i]) {
					t.Fatalf("after step %d %+v, Respond calls = %q, want %q", i, s, got, c.want[i])
				}
			}
			refused := max(0, len(c.want[len(c.want)-1])-1)
			line := "[WARN] agent: Failed to respond to query 'query: x': failed to respond to key query: response already sent\n"
			if got := logs.count(line); got != refused {
				t.Errorf("log has %q %d times, want %d; log:\n%s", line, got, refused, &logs)
			}
		})
	}
}

// TestAnswerConcurrent finishes the slots from many goroutines in random
// order: Respond still gets the outputs in slot order, each once.
func TestAnswerConcurrent(t *testing.T) {
	for range 20 {
		const n = 16
		q := &fakeQuery{}
		a := newAnswer(q, "query: x", n, log.New(&strings.Builder{}, "", 0))
		var wg sync.WaitGroup
		for _, i := range rand.Perm(n) {
			wg.Go(func() {
				var out []byte
				if i%3 != 0 {
					out = fmt.Appendf(nil, "%02d", i)
				}
				a.finish(i, out)
			})
		}
		wg.Wait()
		var want []string
		for i := range n {
			if i%3 != 0 {
				want = append(want, fmt.Sprintf("%02d", i))
			}
		}
		if got := q.Calls(); !slices.Equal(got, want) {
			t.Fatalf("Respond calls = %q, want %q", got, want)
		}
	}
}

func TestAnswerNil(t *testing.T) {
	if a := newAnswer(&fakeQuery{}, "query: x", 0, nil); a != nil {
		t.Fatalf("newAnswer for no handlers = %v, want nil", a)
	}
	var a *answer
	a.finish(0, []byte("x")) // no query: nothing to do, no panic
	a.abandon(0)
}
