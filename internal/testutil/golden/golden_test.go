package golden

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestParse(t *testing.T) {
	got, err := Parse("# comment\n  01 82\n\ta5 4c#trailing\n#0f\n\n ff")
	if err != nil {
		t.Fatalf("Parse() error = %v", err)
	}
	if want := []byte{0x01, 0x82, 0xa5, 0x4c, 0xff}; !bytes.Equal(got, want) {
		t.Errorf("Parse() = % x, want % x", got, want)
	}
	if _, err := Parse("0"); err == nil {
		t.Errorf("Parse(odd length) error = nil, want an error")
	}
}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "testdata"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "testdata", "ping.hex"), []byte("# a ping\n01 02\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	if got, want := Read(t, "ping"), []byte{1, 2}; !bytes.Equal(got, want) {
		t.Errorf("Read(ping) = % x, want % x", got, want)
	}
}
