package serf

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/openserf/serf/internal/testutil/golden"
)

// captureTransport is a memberlist transport that keeps the packets
// memberlist sends and opens no sockets.
type captureTransport struct {
	mu      sync.Mutex
	packets [][]byte
	packetC chan *memberlist.Packet
	streamC chan net.Conn
}

func newCaptureTransport() *captureTransport {
	return &captureTransport{packetC: make(chan *memberlist.Packet), streamC: make(chan net.Conn)}
}

func (c *captureTransport) FinalAdvertiseAddr(string, int) (net.IP, int, error) {
	return net.IPv4(127, 0, 0, 1), 7946, nil
}
func (c *captureTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	return c.WriteToAddress(b, memberlist.Address{Addr: addr})
}
func (c *captureTransport) WriteToAddress(b []byte, _ memberlist.Address) (time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.packets = append(c.packets, bytes.Clone(b))
	return time.Now(), nil
}
func (c *captureTransport) PacketCh() <-chan *memberlist.Packet { return c.packetC }
func (c *captureTransport) DialTimeout(string, time.Duration) (net.Conn, error) {
	return nil, net.ErrClosed
}
func (c *captureTransport) DialAddressTimeout(memberlist.Address, time.Duration) (net.Conn, error) {
	return nil, net.ErrClosed
}
func (c *captureTransport) StreamCh() <-chan net.Conn { return c.streamC }
func (c *captureTransport) Shutdown() error           { return nil }

// sent returns the last packet memberlist sent.
func (c *captureTransport) sent(t *testing.T) []byte {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.packets) == 0 {
		t.Fatal("memberlist sent nothing")
	}
	return c.packets[len(c.packets)-1]
}

// memberlistSends returns what memberlist itself puts on the wire for a
// user message, compressing or not, with its checksum header (a peer of
// protocol 5) or without.
func memberlistSends(t *testing.T, compress, crc bool, msg []byte) []byte {
	t.Helper()
	conf := memberlist.DefaultLANConfig()
	conf.Name = "capture"
	conf.EnableCompression = compress
	conf.LogOutput = testWriter{t}
	tr := newCaptureTransport()
	conf.Transport = tr
	ml, err := memberlist.Create(conf)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ml.Shutdown() }()
	to := &memberlist.Node{Name: "peer", Addr: net.IPv4(127, 0, 0, 2), Port: 7946, PMax: 4}
	if crc {
		to.PMax = 5
	}
	if err := ml.SendBestEffort(to, msg); err != nil {
		t.Fatal(err)
	}
	return tr.sent(t)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(string(bytes.TrimSpace(b)))
	return len(b), nil
}

// TestCompressPacketIsMemberlists holds the transport's compression to
// memberlist's own, byte for byte: a packet memberlist sent uncompressed,
// compressed by the transport, is the packet memberlist sends with
// compression on; a message compression would not shrink is left as it
// is, as memberlist leaves it; and the result is the stored fixture.
func TestCompressPacketIsMemberlists(t *testing.T) {
	messages := map[string][]byte{
		"repetitive": bytes.Repeat([]byte("serf gossip "), 40),
		"short":      []byte("hi"),
	}
	for name, msg := range messages {
		for _, crc := range []bool{false, true} {
			plain := memberlistSends(t, false, crc, msg)
			want := memberlistSends(t, true, crc, msg)
			got := compressPacket(plain)
			if !bytes.Equal(got, want) {
				t.Errorf("%s, checksum %v: transport sends\n%x\nmemberlist sends\n%x", name, crc, got, want)
			}
			if name == "short" && !bytes.Equal(got, plain) {
				t.Errorf("short message, checksum %v: compressed although it does not shrink", crc)
			}
			if name == "repetitive" && crc {
				if fixture := golden.Read(t, "compressed_packet_crc"); !bytes.Equal(want, fixture) {
					t.Errorf("memberlist's compressed packet\n%x\ndiffers from testdata/compressed_packet_crc.hex\n%x", want, fixture)
				}
			}
		}
	}
}

// TestDecompressPacket gives memberlist what it would have decompressed
// itself, and leaves every packet it cannot or should not open to
// memberlist.
func TestDecompressPacket(t *testing.T) {
	msg := append([]byte{8}, bytes.Repeat([]byte("serf gossip "), 40)...)
	fixture := golden.Read(t, "compressed_packet_crc")
	if got := decompressPacket(fixture); !bytes.Equal(got, msg) {
		t.Fatalf("decompressPacket(fixture) = %x, want %x", got, msg)
	}
	if got := decompressPacket(fixture[5:]); !bytes.Equal(got, msg) {
		t.Fatalf("without the checksum header: %x, want %x", got, msg)
	}

	badCRC := bytes.Clone(fixture)
	badCRC[1] ^= 0xff
	truncated := fixture[:len(fixture)-3]
	binary.BigEndian.PutUint32(truncated[1:5], crc32.ChecksumIEEE(truncated[5:]))
	nested := withCRC(mustCompress(t, withCRC(msg)))
	labelled := mustCompress(t, append([]byte{mlHasLabelMsg, 1, 'x'}, msg...))
	unknownAlgo := bytes.Clone(fixture[5:])
	unknownAlgo[bytes.Index(unknownAlgo, []byte("Algo"))+4] = 1
	for name, b := range map[string][]byte{
		"plain message":       msg,
		"bad checksum":        badCRC,
		"truncated":           truncated,
		"empty":               {},
		"type byte only":      {mlCompressMsg},
		"checksum inside":     nested,
		"label inside":        labelled,
		"unknown algorithm":   unknownAlgo,
		"encrypted (version)": {1, 2, 3, 4},
	} {
		if got := decompressPacket(b); got != nil {
			t.Errorf("%s: decompressed to %x, want it left to memberlist", name, got)
		}
	}
}

func withCRC(b []byte) []byte {
	out := []byte{mlHasCrcMsg, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(out[1:], crc32.ChecksumIEEE(b))
	return append(out, b...)
}

func mustCompress(t *testing.T, b []byte) []byte {
	t.Helper()
	c, err := compressMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCompressConn: a stream message is written compressed, whole, and
// the caller is told its own length was written, as memberlist checks.
func TestCompressConn(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	msg := bytes.Repeat([]byte("push pull state "), 100)
	done := make(chan []byte)
	go func() {
		buf := make([]byte, 64*1024)
		n, _ := b.Read(buf)
		done <- buf[:n]
	}()
	n, err := (&compressConn{Conn: a}).Write(msg)
	if err != nil || n != len(msg) {
		t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(msg))
	}
	got := <-done
	if want := mustCompress(t, msg); !bytes.Equal(got, want) {
		t.Fatalf("stream got %x, want %x", got, want)
	}
	if back, err := decompressMessage(got[1:]); err != nil || !bytes.Equal(back, msg) {
		t.Fatalf("stream message does not decompress back: %v", err)
	}
}

// FuzzDecompressPacket: no packet makes the transport panic, and what it
// hands memberlist compresses back to a packet that opens to the same
// bytes.
func FuzzDecompressPacket(f *testing.F) {
	fixture := golden.Read(f, "compressed_packet_crc")
	f.Add(fixture)
	f.Add(fixture[5:])
	f.Add([]byte{mlCompressMsg})
	f.Add([]byte{mlHasCrcMsg, 0, 0, 0, 0, mlCompressMsg, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		out := decompressPacket(b)
		if out == nil {
			return
		}
		again, err := compressMessage(out)
		if err != nil {
			t.Fatal(err)
		}
		if back := decompressPacket(again); !bytes.Equal(back, out) && !(len(out) > 0 && back == nil) {
			t.Fatalf("%x opens to %x, which compresses and opens to %x", b, out, back)
		}
	})
}

// gossipLikePacket is a packet of the size and kind gossip sends: a
// compound of alive messages of nodes whose names and tags differ a
// little.
func gossipLikePacket() []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < 1300; i++ {
		fmt.Fprintf(&b, "\x02\x86\xa4Node\xa8node-%03d\xa4Addr\xc4\x04\x7f\x00\x00\x01\xa4Port\xcd\x1f\x4a\xa4Meta\xc4\x0a\x81\xa4role\xa3web\xa3Inc", i)
		b.WriteByte(byte(i % 128))
	}
	return b.Bytes()
}

func BenchmarkCompressPacket(b *testing.B) {
	p := gossipLikePacket()
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		compressPacket(p)
	}
}

func BenchmarkDecompressPacket(b *testing.B) {
	p := compressPacket(gossipLikePacket())
	if decompressPacket(p) == nil {
		b.Fatal("the packet does not decompress")
	}
	b.ReportAllocs()
	for b.Loop() {
		decompressPacket(p)
	}
}
