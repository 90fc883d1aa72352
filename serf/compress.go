package serf

import (
	"bytes"
	"compress/lzw"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"net"
	"sync"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

// Gossip compression in the transport.
//
// memberlist compresses every packet and stream message it sends (a
// packet only when that makes it smaller) with a new LZW writer each
// time, and decompresses every compressed one it receives with a new LZW
// reader. The writer holds a 64 KiB table and the reader 20 KiB, so
// every gossip packet costs some 85 KiB of garbage: in a fleet of 200
// agents booting at once that was over half of all the memory they
// allocated, and the collector's work grew with it.
//
// When the node's packets are neither encrypted nor labelled, Create
// therefore hands memberlist a copy of its configuration with
// compression off, and netTransport does the same compression in the
// same format with writers and readers that are reused: what goes on
// the wire is byte for byte what memberlist would have sent
// (compress_test.go holds it to memberlist's own output), and what
// memberlist is given on receipt is what it would have decompressed.
// With encryption or a label memberlist compresses as before, as it
// must: it compresses before it encrypts or labels, and the transport
// only sees the result.

// memberlist's message types and compression settings that the
// transport needs; they are part of the protocol.
const (
	mlCompressMsg = 9
	mlHasCrcMsg   = 12
	mlHasLabelMsg = 244
	mlLZWAlgo     = 0
	mlLZWLitWidth = 8
	// mlMaxDecompressed is memberlist's bound on what one compressed
	// message may expand to.
	mlMaxDecompressed = 40 * 1024 * 1024
)

// compressed is memberlist's compress message: the algorithm and the
// compressed bytes, encoded as memberlist encodes it.
type compressed struct {
	Algo uint8
	Buf  []byte
}

var (
	lzwWriters = sync.Pool{New: func() any { return lzw.NewWriter(nil, lzw.LSB, mlLZWLitWidth).(*lzw.Writer) }}
	lzwReaders = sync.Pool{New: func() any { return lzw.NewReader(nil, lzw.LSB, mlLZWLitWidth).(*lzw.Reader) }}
	// inflated are the buffers packets are decompressed into; those grown
	// past maxPooledInflated (a rare large state exchange) are dropped.
	inflated = sync.Pool{New: func() any { return new(bytes.Buffer) }}
	// msgpackHandle encodes as memberlist's encode does (its time
	// setting does not matter: the message holds no time).
	msgpackHandle = &codec.MsgpackHandle{}
)

// compressMessage returns msg as memberlist's compress message: the type
// byte, then the msgpack encoding of the algorithm and the LZW stream.
func compressMessage(msg []byte) ([]byte, error) {
	var lz flushBuffer
	w := lzwWriters.Get().(*lzw.Writer)
	w.Reset(&lz, lzw.LSB, mlLZWLitWidth)
	_, err := w.Write(msg)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	// Put back as it is: Reset clears the writer's 64 KiB table, and the
	// next use resets it anyway. Until then it keeps lz, a packet's worth
	// of bytes, alive.
	lzwWriters.Put(w)
	if err != nil {
		return nil, err
	}
	out := bytes.NewBuffer(make([]byte, 0, lz.Len()+16))
	out.WriteByte(mlCompressMsg)
	if err := codec.NewEncoder(out, msgpackHandle).Encode(&compressed{Algo: mlLZWAlgo, Buf: lz.Bytes()}); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// flushBuffer is a bytes.Buffer the LZW writer takes as it is, without
// a bufio.Writer of its own in front.
type flushBuffer struct{ bytes.Buffer }

func (*flushBuffer) Flush() error { return nil }

// compressPacket is what memberlist does to a packet before it adds a
// checksum: b compressed when that is smaller, else b. b may start with
// memberlist's checksum header, which is then computed anew.
func compressPacket(b []byte) []byte {
	body, crc := b, false
	if len(b) >= 5 && b[0] == mlHasCrcMsg {
		body, crc = b[5:], true
	}
	c, err := compressMessage(body)
	if err != nil || len(c) >= len(body) {
		return b
	}
	if !crc {
		return c
	}
	out := make([]byte, 5, 5+len(c))
	out[0] = mlHasCrcMsg
	binary.BigEndian.PutUint32(out[1:], crc32.ChecksumIEEE(c))
	return append(out, c...)
}

// decompressPacket returns a received packet's compressed message
// decompressed, in a new buffer, when the packet is one (with or without
// a checksum) and memberlist would have handled its content as it
// handles b's: otherwise nil, and memberlist gets b to judge and log as
// usual.
func decompressPacket(b []byte) []byte {
	body := b
	if len(b) >= 5 && b[0] == mlHasCrcMsg {
		if crc32.ChecksumIEEE(b[5:]) != binary.BigEndian.Uint32(b[1:5]) {
			return nil
		}
		body = b[5:]
	}
	if len(body) < 1 || body[0] != mlCompressMsg {
		return nil
	}
	payload, err := decompressMessage(body[1:])
	// memberlist hands a decompressed payload straight to its command
	// handler; given on its own, a payload that starts with a checksum
	// or label header would be read as one.
	if err != nil || len(payload) == 0 || payload[0] == mlHasCrcMsg || payload[0] == mlHasLabelMsg {
		return nil
	}
	return payload
}

// maxPooledInflated is the largest decompression buffer kept for reuse.
const maxPooledInflated = 64 << 10

// errDecompressedTooLarge is memberlist's limit, reached.
var errDecompressedTooLarge = errors.New("decompressed message is larger than limit")

// decompressMessage decodes a compress message's body (after the type
// byte) and expands it.
func decompressMessage(body []byte) ([]byte, error) {
	var c compressed
	if err := codec.NewDecoderBytes(body, msgpackHandle).Decode(&c); err != nil {
		return nil, err
	}
	if c.Algo != mlLZWAlgo {
		return nil, errors.New("unknown compression algorithm")
	}
	r := lzwReaders.Get().(*lzw.Reader)
	r.Reset(bytes.NewReader(c.Buf), lzw.LSB, mlLZWLitWidth)
	// Put back as it is, as the writers are: the next use resets it.
	defer lzwReaders.Put(r)
	out := inflated.Get().(*bytes.Buffer)
	defer func() {
		if out.Cap() <= maxPooledInflated {
			out.Reset()
			inflated.Put(out)
		}
	}()
	n, err := io.CopyN(out, r, mlMaxDecompressed+1)
	if err != nil && err != io.EOF {
		return nil, err
	}
	if n > mlMaxDecompressed {
		return nil, errDecompressedTooLarge
	}
	// memberlist keeps the payload: it gets a copy of its own, exactly
	// sized, and the buffer that grew to hold it is used again.
	return bytes.Clone(out.Bytes()), nil
}

// compressConn compresses every message memberlist writes to a stream,
// as memberlist does (always, smaller or not). memberlist writes each
// message whole, in one call, once any label header is out; the
// transport only wraps streams of unlabelled nodes.
type compressConn struct {
	net.Conn
}

func (c *compressConn) Write(b []byte) (int, error) {
	out, err := compressMessage(b)
	if err != nil {
		// memberlist sends the message as it is when compressing fails.
		out = b
	}
	n, err := c.Conn.Write(out)
	if err != nil {
		return 0, err
	}
	if n != len(out) {
		return 0, io.ErrShortWrite
	}
	return len(b), nil
}
