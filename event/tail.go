package event

// tailBuffer keeps the last size bytes written to it: a fixed ring that
// overwrites its oldest bytes, so a script that prints without end costs
// the agent a bounded amount of memory. It is not safe for concurrent
// use; one goroutine copies a script's output into it and the result is
// read after that goroutine has finished.
type tailBuffer struct {
	buf  []byte
	next int  // where the next byte goes
	full bool // whether buf has wrapped: all of it is kept output
}

func newTailBuffer(size int) *tailBuffer {
	return &tailBuffer{buf: make([]byte, size)}
}

// Write never fails and always reports all of p as written.
func (b *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if n >= len(b.buf) {
		// Only the end of p survives; it fills the ring exactly.
		copy(b.buf, p[n-len(b.buf):])
		b.next, b.full = 0, true
		return n, nil
	}
	c := copy(b.buf[b.next:], p)
	copy(b.buf, p[c:])
	if b.next+n >= len(b.buf) {
		b.full = true
	}
	b.next = (b.next + n) % len(b.buf)
	return n, nil
}

// Bytes returns a copy of the kept bytes, oldest first.
func (b *tailBuffer) Bytes() []byte {
	if !b.full {
		return append([]byte(nil), b.buf[:b.next]...)
	}
	out := make([]byte, 0, len(b.buf))
	out = append(out, b.buf[b.next:]...)
	return append(out, b.buf[:b.next]...)
}
