package agent

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
)

func TestLevelFilterConcurrentSetLevel(t *testing.T) {
	var out bytes.Buffer
	var outLock sync.Mutex
	f := NewLevelFilter("INFO", writerFunc(func(p []byte) (int, error) {
		outLock.Lock()
		defer outLock.Unlock()
		return out.Write(p)
	}))
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				fmt.Fprintf(f, "[DEBUG] x: %d\n", j)
				fmt.Fprintf(f, "[INFO] x: %d\n", j)
			}
		}()
	}
	for _, l := range []string{"debug", "warn", "INFO", "err", "trace"} {
		f.SetLevel(l)
	}
	wg.Wait()
	f.SetLevel("WARN")
	if f.Check([]byte("[INFO] y")) || !f.Check([]byte("[ERR] y")) || !f.Check([]byte("no level")) {
		t.Errorf("Check() at WARN passes INFO or drops ERR or an untagged line")
	}
}

func TestLogRingReplaysInOrder(t *testing.T) {
	r := NewLogRing(3)
	for i := 1; i <= 5; i++ {
		fmt.Fprintf(r, "line %d\n", i)
	}
	h := &collector{}
	r.RegisterHandler(h)
	fmt.Fprintf(r, "line 6\n")
	want := "line 3,line 4,line 5,line 6"
	if g := joinLines(h.lines); g != want {
		t.Errorf("replayed %q, want %q", g, want)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

type collector struct{ lines []string }

func (c *collector) HandleLog(l string) { c.lines = append(c.lines, l) }

func joinLines(ls []string) string {
	var b bytes.Buffer
	for i, l := range ls {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l)
	}
	return b.String()
}
