package event

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

func TestTailBuffer(t *testing.T) {
	b := newTailBuffer(8)
	if got := b.Bytes(); len(got) != 0 {
		t.Errorf("empty Bytes() = %q, want nothing", got)
	}
	steps := []struct {
		write string
		want  string
	}{
		{"abc", "abc"},
		{"", "abc"},
		{"defgh", "abcdefgh"},
		{"ij", "cdefghij"},
		{"klmnop", "ijklmnop"},
		{"0123456789", "23456789"},
		{"x", "3456789x"},
	}
	for _, s := range steps {
		n, err := b.Write([]byte(s.write))
		if n != len(s.write) || err != nil {
			t.Fatalf("Write(%q) = %d, %v, want %d, nil", s.write, n, err, len(s.write))
		}
		if got := string(b.Bytes()); got != s.want {
			t.Errorf("after Write(%q) Bytes() = %q, want %q", s.write, got, s.want)
		}
	}
}

// TestTailBufferRandom checks the ring against keeping everything.
func TestTailBufferRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		size := 1 + rng.IntN(64)
		b := newTailBuffer(size)
		var all []byte
		for range rng.IntN(20) {
			p := make([]byte, rng.IntN(3*size))
			for i := range p {
				p[i] = byte(rng.IntN(256))
			}
			b.Write(p)
			all = append(all, p...)
		}
		want := all[max(0, len(all)-size):]
		if got := b.Bytes(); !bytes.Equal(got, want) {
			t.Fatalf("size %d: Bytes() = %x, want %x", size, got, want)
		}
	}
}
