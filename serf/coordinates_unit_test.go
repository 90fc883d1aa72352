package serf

import (
	"bytes"
	"github.com/openserf/serf/internal/testutil/golden"
	"testing"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/openserf/serf/coordinate"
)

func TestGoldenPingAckPayload(t *testing.T) {
	want := golden.Read(t, "ping_ack_fresh")
	var buf bytes.Buffer
	buf.WriteByte(PingVersion)
	if err := codec.NewEncoder(&buf, gossipHandle).Encode(coordinate.NewCoordinate(coordinate.DefaultConfig())); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("ping ack payload = % x, want % x", buf.Bytes(), want)
	}
	c, err := decodePingCoordinate(want[1:])
	if err != nil {
		t.Fatalf("decodePingCoordinate() error: %v", err)
	}
	if len(c.Vec) != 8 || c.Error != 1.5 || c.Height != 1e-5 || c.Adjustment != 0 {
		t.Errorf("decodePingCoordinate() = %+v, want a fresh coordinate", c)
	}
}

// FuzzDecodePingCoordinate: whatever a peer puts in its ack decodes or
// fails cleanly, and the Vivaldi client either uses or rejects it; the
// local coordinate never becomes invalid.
func FuzzDecodePingCoordinate(f *testing.F) {
	f.Add(golden.Read(f, "ping_ack_fresh")[1:])
	f.Add([]byte{0x84, 0xa3, 'V', 'e', 'c', 0x91, 0xcb, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := decodePingCoordinate(data)
		if err != nil {
			return
		}
		client, err := coordinate.NewClient(coordinate.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = client.Update("peer", c, 1000)
		if !client.GetCoordinate().IsValid() {
			t.Fatalf("local coordinate invalid after update with %+v", c)
		}
	})
}
