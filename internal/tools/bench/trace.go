package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// stampWriter prefixes every line written through it with the time it
// was written, "15:04:05.000 ", to the millisecond.
type stampWriter struct {
	lock    sync.Mutex // stdout and stderr share it
	w       io.Writer
	partial bool // the last write ended mid-line
}

const stampLayout = "15:04:05.000"

func (s *stampWriter) Write(p []byte) (int, error) {
	s.lock.Lock()
	defer s.lock.Unlock()
	stamp := time.Now().Format(stampLayout) + " "
	var out bytes.Buffer
	for rest := p; len(rest) > 0; {
		line, after, found := bytes.Cut(rest, []byte("\n"))
		if !s.partial {
			out.WriteString(stamp)
		}
		out.Write(line)
		if found {
			out.WriteByte('\n')
		}
		s.partial = !found
		rest = after
	}
	if _, err := s.w.Write(out.Bytes()); err != nil {
		return 0, err
	}
	return len(p), nil
}

// KillTrace is where the time of one kill -9 went, read from the agents'
// info logs: memberlist's failed probes of the victim ("Suspect X has
// failed, no acks received") and its suspicion timeouts ("Marking X as
// failed, suspect timeout reached (k peer confirmations)"), in seconds
// after the kill.
type KillTrace struct {
	Probes   []float64 `json:"failed_probes_s"` // failed probes of the victim, in order
	Timeouts []float64 `json:"timeouts_s"`      // suspicion timeouts that declared it dead
	// Confirmations is what the first timeout counted.
	Confirmations int `json:"confirmations"`
}

var confirmationsRe = regexp.MustCompile(`\((\d+) peer confirmations\)`)

// killTrace reads the agents' stamped logs for the kill of victim at
// start. ok is false when the logs have no stamps (warn level).
func killTrace(agents []*Agent, victim string, start time.Time) (t KillTrace, ok bool) {
	probe := "memberlist: Suspect " + victim + " has failed, no acks received"
	mark := "memberlist: Marking " + victim + " as failed, suspect timeout reached"
	firstMark := time.Duration(-1)
	for _, a := range agents {
		f, err := os.Open(filepath.Join(a.Dir, "agent.log"))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := sc.Text()
			stamp, text, found := strings.Cut(line, " ")
			if !found || (!strings.Contains(text, probe) && !strings.Contains(text, mark)) {
				continue
			}
			rel, err := sinceStamp(start, stamp)
			if err != nil {
				continue
			}
			ok = true
			if rel < 0 {
				continue // an earlier suspicion of the same name
			}
			if strings.Contains(text, probe) {
				t.Probes = append(t.Probes, rel.Seconds())
				continue
			}
			t.Timeouts = append(t.Timeouts, rel.Seconds())
			if firstMark < 0 || rel < firstMark {
				firstMark = rel
				if m := confirmationsRe.FindStringSubmatch(text); m != nil {
					fmt.Sscan(m[1], &t.Confirmations)
				}
			}
		}
		f.Close()
	}
	slices.Sort(t.Probes)
	slices.Sort(t.Timeouts)
	return t, ok
}

// sinceStamp is the time from start to a line's stamp (a time of day,
// within twelve hours either side of start).
func sinceStamp(start time.Time, stamp string) (time.Duration, error) {
	at, err := time.Parse(stampLayout, stamp)
	if err != nil {
		return 0, err
	}
	h, m, s := start.Clock()
	startOfDay := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second +
		time.Duration(start.Nanosecond())
	h, m, s = at.Clock()
	atOfDay := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second +
		time.Duration(at.Nanosecond())
	d := atOfDay - startOfDay
	switch {
	case d > 12*time.Hour:
		d -= 24 * time.Hour
	case d < -12*time.Hour:
		d += 24 * time.Hour
	}
	return d, nil
}

// String sums the trace up for the log.
func (t KillTrace) String() string {
	if len(t.Probes) == 0 || len(t.Timeouts) == 0 {
		return fmt.Sprintf("%d failed probes, %d timeouts in the logs", len(t.Probes), len(t.Timeouts))
	}
	before := 0
	for _, p := range t.Probes {
		if p < t.Timeouts[0] {
			before++
		}
	}
	return fmt.Sprintf("first failed probe at %.2fs, %d before the first timeout at %.2fs (%d confirmations)",
		t.Probes[0], before, t.Timeouts[0], t.Confirmations)
}
