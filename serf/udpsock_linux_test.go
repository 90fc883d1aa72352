//go:build linux

package serf

import (
	"errors"
	"net"
	"net/netip"
	"reflect"
	"testing"
	"time"
)

// listenUDPSocket binds a UDP socket on addr ("127.0.0.1", "0.0.0.0",
// "::1") as the transport does, skipping where the host lacks it.
func listenUDPSocket(t *testing.T, addr string) (*net.UDPConn, *udpSocket) {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(addr)})
	if err != nil {
		t.Skipf("no UDP on %s here: %v", addr, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	s, err := newUDPSocket(conn)
	if err != nil {
		t.Fatal(err)
	}
	return conn, s
}

// udpSocketBinds are the addresses a transport socket is bound to in the
// tests, each with the address of a peer that reaches it.
var udpSocketBinds = []struct{ listen, peer string }{
	{"127.0.0.1", "127.0.0.1"},
	{"0.0.0.0", "127.0.0.1"},
	{"::1", "::1"},
}

// TestUDPSocketReadsAsUDPConn sends two datagrams to a socket of each
// kind the transport binds, reads the first with readFrom and the second
// with net.UDPConn's ReadFromUDP, and wants the same source both times:
// the same IP bytes (four from an AF_INET socket, sixteen from a dual
// stack one), port and zone, so memberlist logs and answers the same
// address.
func TestUDPSocketReadsAsUDPConn(t *testing.T) {
	for _, bind := range udpSocketBinds {
		t.Run(bind.listen, func(t *testing.T) {
			conn, s := listenUDPSocket(t, bind.listen)
			port := conn.LocalAddr().(*net.UDPAddr).Port
			to := &net.UDPAddr{IP: net.ParseIP(bind.peer), Port: port}
			from, err := net.DialUDP("udp", nil, to)
			if err != nil {
				t.Skipf("cannot send to %v: %v", to, err)
			}
			defer from.Close()
			for _, msg := range []string{"first", "second"} {
				if _, err := from.Write([]byte(msg)); err != nil {
					t.Fatal(err)
				}
			}
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 64)
			n, ours, err := s.readFrom(buf)
			if err != nil || string(buf[:n]) != "first" {
				t.Fatalf("readFrom: %q, %v", buf[:n], err)
			}
			n, theirs, err := conn.ReadFromUDP(buf)
			if err != nil || string(buf[:n]) != "second" {
				t.Fatalf("ReadFromUDP: %q, %v", buf[:n], err)
			}
			if !reflect.DeepEqual(ours, theirs) {
				t.Errorf("readFrom gives source %#v, net.UDPConn %#v", ours, theirs)
			}
			if ours.String() != theirs.String() {
				t.Errorf("source %s, want %s", ours, theirs)
			}
		})
	}
}

// TestUDPSocketWritesAsUDPConn sends from a socket of each kind with
// writeTo and reads what arrives, including an empty datagram.
func TestUDPSocketWritesAsUDPConn(t *testing.T) {
	for _, bind := range udpSocketBinds {
		t.Run(bind.listen, func(t *testing.T) {
			_, s := listenUDPSocket(t, bind.listen)
			peer, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(bind.peer)})
			if err != nil {
				t.Skipf("no UDP on %s here: %v", bind.peer, err)
			}
			defer peer.Close()
			to := peer.LocalAddr().(*net.UDPAddr).AddrPort()
			for _, msg := range []string{"gossip", ""} {
				if err := s.writeTo([]byte(msg), to); err != nil {
					t.Fatalf("writeTo %v: %v", to, err)
				}
				_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
				buf := make([]byte, 64)
				n, _, err := peer.ReadFromUDP(buf)
				if err != nil || string(buf[:n]) != msg {
					t.Fatalf("peer read %q, %v; want %q", buf[:n], err, msg)
				}
			}
		})
	}
}

// TestUDPSocketErrorsAsUDPConn wants writeTo's and readFrom's errors to
// read as net.UDPConn's for the same mistakes: an IPv6 destination from
// an IPv4 socket, a closed socket.
func TestUDPSocketErrorsAsUDPConn(t *testing.T) {
	conn, s := listenUDPSocket(t, "127.0.0.1")
	v6 := netip.MustParseAddrPort("[::1]:7946")
	ours := s.writeTo([]byte("x"), v6)
	_, theirs := conn.WriteToUDPAddrPort([]byte("x"), v6)
	if ours == nil || theirs == nil || ours.Error() != theirs.Error() {
		t.Errorf("IPv6 destination: writeTo says %v, net.UDPConn %v", ours, theirs)
	}

	_ = conn.Close()
	ours = s.writeTo([]byte("x"), netip.MustParseAddrPort("127.0.0.1:1"))
	_, theirs = conn.WriteToUDPAddrPort([]byte("x"), netip.MustParseAddrPort("127.0.0.1:1"))
	if ours == nil || theirs == nil || ours.Error() != theirs.Error() || !errors.Is(ours, net.ErrClosed) {
		t.Errorf("closed socket: writeTo says %v, net.UDPConn %v", ours, theirs)
	}
	_, _, ours = s.readFrom(make([]byte, 8))
	_, _, theirs = conn.ReadFromUDP(make([]byte, 8))
	if ours == nil || theirs == nil || ours.Error() != theirs.Error() || !errors.Is(ours, net.ErrClosed) {
		t.Errorf("closed socket: readFrom says %v, net.UDPConn %v", ours, theirs)
	}
}

// TestUDPSocketWriteAllocatesNothing holds the send path to no garbage:
// it runs for every gossip packet.
func TestUDPSocketWriteAllocatesNothing(t *testing.T) {
	_, s := listenUDPSocket(t, "127.0.0.1")
	sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	to := sink.LocalAddr().(*net.UDPAddr).AddrPort()
	msg := []byte("ping")
	if n := testing.AllocsPerRun(100, func() {
		if err := s.writeTo(msg, to); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("writeTo allocates %v times a packet", n)
	}
}
