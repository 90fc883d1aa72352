package command

import (
	"fmt"
	"strings"
)

// parseTags reads key=value arguments, split at the first "=".
func parseTags(args []string) (map[string]string, error) {
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

// listFlag is a repeatable string flag.
type listFlag []string

func (f *listFlag) String() string     { return strings.Join(*f, ",") }
func (f *listFlag) Set(v string) error { *f = append(*f, v); return nil }
