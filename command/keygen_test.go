package command

import (
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/hashicorp/cli"
)

func TestKeygenCommand(t *testing.T) {
	seen := map[string]bool{}
	for _, args := range [][]string{nil, {"-bogus", "extra"}, {"-h"}} {
		r := runWithUI(t, named("keygen"), args...)
		if r.code != 0 || r.err != "" {
			t.Fatalf("Run(%q) = %d, error output %q, want 0 and none", args, r.code, r.err)
		}
		key := strings.TrimSuffix(r.out, "\n")
		if len(r.out) != 45 || len(key) != 44 {
			t.Errorf("Run(%q) output = %q, want 44 base64 characters and a newline", args, r.out)
		}
		raw, err := base64.StdEncoding.DecodeString(key)
		if err != nil || len(raw) != 32 {
			t.Errorf("decoding %q = %d bytes, %v, want 32 bytes", key, len(raw), err)
		}
		if seen[key] {
			t.Errorf("Run(%q) repeated key %q", args, key)
		}
		seen[key] = true
	}
}

// keygenShortReader returns fewer bytes than asked for, without an error.
type keygenShortReader struct{}

func (keygenShortReader) Read(p []byte) (int, error) { return len(p) / 2, nil }

func TestKeygenCommandErrors(t *testing.T) {
	tests := []struct {
		name   string
		random io.Reader
		want   cmdResult
	}{
		{"read error", keygenErrReader{errors.New("no entropy device")},
			cmdResult{code: 1, err: "Error reading random data: no entropy device\n"}},
		{"short read", keygenShortReader{},
			cmdResult{code: 1, err: "Couldn't read enough entropy. Generate more entropy!\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runWithUI(t, func(ui cli.Ui) cli.Command { return &KeygenCommand{UI: ui, random: tt.random} })
			r.check(t, nil, tt.want)
		})
	}
}

// keygenErrReader fails every read with err.
type keygenErrReader struct{ err error }

func (r keygenErrReader) Read([]byte) (int, error) { return 0, r.err }
