package serf_test

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/openserf/serf/internal/testutil/cluster"
)

// TestCompressionOnTheWire: an unencrypted node's packets leave
// compressed (the transport compresses in memberlist's place) while its
// caller's configuration still says compression is on; an encrypted
// node's leave encrypted, compressed by memberlist inside.
func TestCompressionOnTheWire(t *testing.T) {
	peer, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(cluster.IP())})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	to := peer.LocalAddr().(*net.UDPAddr)
	msg := bytes.Repeat([]byte("serf gossip "), 40)

	for _, encrypted := range []bool{false, true} {
		conf := cluster.Config("wire")
		if encrypted {
			ring, err := memberlist.NewKeyring(nil, bytes.Repeat([]byte{7}, 16))
			if err != nil {
				t.Fatal(err)
			}
			conf.MemberlistConfig.Keyring = ring
		}
		n := cluster.Start(t, conf)
		if !conf.MemberlistConfig.EnableCompression {
			t.Errorf("encrypted %v: the caller's EnableCompression was turned off", encrypted)
		}
		node := &memberlist.Node{Name: "peer", Addr: to.IP, Port: uint16(to.Port), PMax: 5}
		if err := n.Serf.Memberlist().SendBestEffort(node, msg); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 65536)
		_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			k, _, err := peer.ReadFromUDP(buf)
			if err != nil {
				t.Fatalf("encrypted %v: no packet: %v", encrypted, err)
			}
			got := buf[:k]
			if encrypted {
				// Encryption version byte first; the user message never
				// shows in the clear.
				if got[0] > 1 || bytes.Contains(got, []byte("serf gossip")) {
					t.Fatalf("encrypted node sent %x", got)
				}
				break
			}
			// Our user message: checksum header, then memberlist's
			// compress message, far smaller than the message.
			if len(got) > 5 && got[0] == 12 && got[5] == 9 {
				if len(got) >= len(msg) {
					t.Errorf("compressed packet of %d bytes for a %d-byte message", len(got), len(msg))
				}
				break
			}
		}
		n.Shutdown()
	}
}
