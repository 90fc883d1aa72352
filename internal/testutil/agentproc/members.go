package agentproc

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Member is one entry of "serf members -format=json".
type Member struct {
	Name   string            `json:"name"`
	Addr   string            `json:"addr"`
	Port   int               `json:"port"`
	Tags   map[string]string `json:"tags"`
	Status string            `json:"status"`
}

// ParseMembers reads the output of "serf members -format=json", sorted by
// name (real Serf prints them in map order).
func ParseMembers(out string) ([]Member, error) {
	var v struct {
		Members []Member `json:"members"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		return nil, fmt.Errorf("members -format=json: %w in %q", err, out)
	}
	slices.SortStableFunc(v.Members, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	return v.Members, nil
}

// FormatMembers renders members on one line, "a=alive b=failed", for
// messages.
func FormatMembers(ms []Member) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.Name + "=" + m.Status
	}
	return strings.Join(parts, " ")
}

// Members returns the agent's member list.
func (a *Agent) Members() ([]Member, error) {
	out, err := a.CLI("members", "-format=json")
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, strings.TrimSpace(out))
	}
	return ParseMembers(out)
}

// WaitMembers waits until the agent lists exactly the members in want
// (name to status) and returns the list.
func (a *Agent) WaitMembers(timeout time.Duration, want map[string]string) []Member {
	a.tb.Helper()
	var ms []Member
	a.WaitFor(timeout, func() error {
		var err error
		if ms, err = a.Members(); err != nil {
			return err
		}
		ok := len(ms) == len(want)
		for _, m := range ms {
			ok = ok && want[m.Name] == m.Status
		}
		if !ok {
			return fmt.Errorf("%s: members = %s, want %v", a.name, FormatMembers(ms), want)
		}
		return nil
	})
	return ms
}

// WaitStatus waits until the agent lists member name with status.
func (a *Agent) WaitStatus(timeout time.Duration, name, status string) {
	a.tb.Helper()
	a.WaitFor(timeout, func() error {
		ms, err := a.Members()
		if err != nil {
			return err
		}
		for _, m := range ms {
			if m.Name == name {
				if m.Status != status {
					return fmt.Errorf("%s: %s is %s, want %s", a.name, name, m.Status, status)
				}
				return nil
			}
		}
		return fmt.Errorf("%s: no member %s in %s", a.name, name, FormatMembers(ms))
	})
}
