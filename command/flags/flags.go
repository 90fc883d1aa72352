// Package flags holds the flag value types and parsers that several
// commands share, `serf agent` included.
package flags

import (
	"fmt"
	"strings"
)

// ParseTags reads key=value arguments, split at the first "=", with
// Serf's error for one that has no key or no "=".
func ParseTags(args []string) (map[string]string, error) {
	tags := make(map[string]string, len(args))
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("Invalid tag: '%s'", a)
		}
		tags[k] = v
	}
	return tags, nil
}

// List is a repeatable string flag: each use appends a value.
type List []string

func (f *List) String() string     { return strings.Join(*f, ",") }
func (f *List) Set(v string) error { *f = append(*f, v); return nil }
