// Package syncbuf has the one bytes.Buffer that tests share between a
// writing goroutine (a process's output, a logger) and readers.
package syncbuf

import (
	"bytes"
	"sync"
)

// Buffer is a bytes.Buffer safe for concurrent writers and readers.
type Buffer struct {
	lock sync.Mutex
	buf  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.lock.Lock()
	defer b.lock.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.lock.Lock()
	defer b.lock.Unlock()
	return b.buf.String()
}

// Len is the number of bytes written so far.
func (b *Buffer) Len() int {
	b.lock.Lock()
	defer b.lock.Unlock()
	return b.buf.Len()
}
