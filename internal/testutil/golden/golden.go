// Package golden reads the golden wire fixtures kept in testdata/*.hex:
// bytes written as hex text, where "#" starts a comment that runs to the
// end of the line and white space is ignored, so each field of a captured
// message can sit on its own commented line.
package golden

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Parse decodes the text of a .hex fixture.
func Parse(text string) ([]byte, error) {
	var digits strings.Builder
	for line := range strings.Lines(text) {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		for _, f := range strings.Fields(line) {
			digits.WriteString(f)
		}
	}
	return hex.DecodeString(digits.String())
}

// Read returns the bytes of testdata/<name>.hex, failing the test when the
// file is missing or malformed.
func Read(tb testing.TB, name string) []byte {
	tb.Helper()
	text, err := os.ReadFile(filepath.Join("testdata", name+".hex"))
	if err != nil {
		tb.Fatalf("read golden fixture: %v", err)
	}
	b, err := Parse(string(text))
	if err != nil {
		tb.Fatalf("parse golden fixture %s: %v", name, err)
	}
	return b
}
