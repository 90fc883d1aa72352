package serf

import (
	"bytes"
	"errors"
	"io"
	"log"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	metrics "github.com/hashicorp/go-metrics"
	"github.com/hashicorp/memberlist"
	"github.com/openserf/serf/internal/testutil/metricsink"
)

const transportWait = 10 * time.Second

func newTestTransport(t *testing.T, addr string, port int) *netTransport {
	t.Helper()
	tr, err := newNetTransport(addr, port, log.New(io.Discard, "", 0), metrics.Default(), nil, nil)
	if err != nil {
		t.Fatalf("newNetTransport(%q, %d) error: %v", addr, port, err)
	}
	t.Cleanup(func() { _ = tr.Shutdown() })
	return tr
}

func transportAddr(tr *netTransport) string {
	ip := tr.tcpLn.Addr().(*net.TCPAddr).IP
	return net.JoinHostPort(ip.String(), strconv.Itoa(tr.AutoBindPort()))
}

func recvPacket(t *testing.T, tr *netTransport) *memberlist.Packet {
	t.Helper()
	select {
	case p := <-tr.PacketCh():
		return p
	case <-time.After(transportWait):
		t.Fatalf("no packet after %v", transportWait)
		return nil
	}
}

func TestTransportPacketsAreExactCopies(t *testing.T) {
	a := newTestTransport(t, "127.0.0.1", 0)
	b := newTestTransport(t, "127.0.0.1", 0)

	// The largest size is the most a UDP datagram over IPv4 carries.
	sizes := []int{1, 100, 1400, 65507}
	var got []*memberlist.Packet
	for _, size := range sizes {
		payload := bytes.Repeat([]byte{byte(size)}, size)
		if _, err := a.WriteToAddress(payload, memberlist.Address{Addr: transportAddr(b), Name: "b"}); err != nil {
			t.Fatalf("WriteToAddress(%d bytes) error: %v", size, err)
		}
		p := recvPacket(t, b)
		if !bytes.Equal(p.Buf, payload) {
			t.Fatalf("packet of %d bytes: got %d bytes that differ", size, len(p.Buf))
		}
		if cap(p.Buf) != size {
			t.Errorf("packet of %d bytes has cap %d, want %d", size, cap(p.Buf), size)
		}
		if p.From.String() != transportAddr(a) {
			t.Errorf("packet From = %s, want %s", p.From, transportAddr(a))
		}
		if p.Timestamp.IsZero() {
			t.Errorf("packet Timestamp is zero")
		}
		got = append(got, p)
	}
	// Later reads must not have overwritten an earlier packet.
	for i, p := range got {
		if want := bytes.Repeat([]byte{byte(sizes[i])}, sizes[i]); !bytes.Equal(p.Buf, want) {
			t.Errorf("packet %d changed after later reads", i)
		}
	}
}

// WriteTo takes a plain address string, with an IP or a host name, and
// sends the packet the same way.
func TestTransportWriteTo(t *testing.T) {
	a := newTestTransport(t, "127.0.0.1", 0)
	b := newTestTransport(t, "127.0.0.1", 0)
	for _, c := range []struct {
		host    string
		payload string
		// mayNotResolve skips the case when the host does not resolve.
		mayNotResolve bool
	}{
		{host: "127.0.0.1", payload: "x"},
		{host: "localhost", payload: "named", mayNotResolve: true},
	} {
		t.Run(c.host, func(t *testing.T) {
			addr := net.JoinHostPort(c.host, strconv.Itoa(b.AutoBindPort()))
			if _, err := a.WriteTo([]byte(c.payload), addr); err != nil {
				if c.mayNotResolve {
					t.Skipf("%s does not resolve here: %v", c.host, err)
				}
				t.Fatalf("WriteTo error: %v", err)
			}
			if p := recvPacket(t, b); string(p.Buf) != c.payload {
				t.Errorf("WriteTo packet = %q, want %q", p.Buf, c.payload)
			}
		})
	}
}

func TestTransportStreams(t *testing.T) {
	a := newTestTransport(t, "127.0.0.1", 0)
	b := newTestTransport(t, "127.0.0.1", 0)

	for _, dial := range []func() (net.Conn, error){
		func() (net.Conn, error) {
			return a.DialAddressTimeout(memberlist.Address{Addr: transportAddr(b), Name: "b"}, transportWait)
		},
		func() (net.Conn, error) { return a.DialTimeout(transportAddr(b), transportWait) },
	} {
		out, err := dial()
		if err != nil {
			t.Fatalf("dial error: %v", err)
		}
		var in net.Conn
		select {
		case in = <-b.StreamCh():
		case <-time.After(transportWait):
			t.Fatalf("no stream after %v", transportWait)
		}
		if _, err := out.Write([]byte("push-pull")); err != nil {
			t.Fatalf("Write error: %v", err)
		}
		_ = out.Close()
		body, err := io.ReadAll(in)
		_ = in.Close()
		if err != nil || string(body) != "push-pull" {
			t.Errorf("stream read %q, %v; want %q", body, err, "push-pull")
		}
	}
}

func TestTransportPortZeroAndAdvertise(t *testing.T) {
	tr := newTestTransport(t, "127.0.0.1", 0)
	port := tr.AutoBindPort()
	if port == 0 {
		t.Fatalf("AutoBindPort() = 0, want the port the kernel chose")
	}
	// UDP is bound to the same port as TCP.
	if got := tr.udpConn.LocalAddr().(*net.UDPAddr).Port; got != port {
		t.Errorf("UDP port = %d, want %d", got, port)
	}

	ip, p, err := tr.FinalAdvertiseAddr("", 0)
	if err != nil || !ip.Equal(net.ParseIP("127.0.0.1")) || p != port {
		t.Errorf("FinalAdvertiseAddr(\"\", 0) = %v, %d, %v; want 127.0.0.1, %d", ip, p, err, port)
	}
	ip, p, err = tr.FinalAdvertiseAddr("10.1.2.3", 4000)
	if err != nil || ip.String() != "10.1.2.3" || len(ip) != net.IPv4len || p != 4000 {
		t.Errorf("FinalAdvertiseAddr(10.1.2.3, 4000) = %v (len %d), %d, %v; want 10.1.2.3 (4 bytes), 4000", ip, len(ip), p, err)
	}
	if _, _, err := tr.FinalAdvertiseAddr("not-an-ip", 1); err == nil || !strings.Contains(err.Error(), `failed to parse advertise address "not-an-ip"`) {
		t.Errorf("FinalAdvertiseAddr(not-an-ip) error = %v, want a parse error", err)
	}
}

func TestTransportIPv6(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	_ = ln.Close()
	a := newTestTransport(t, "::1", 0)
	b := newTestTransport(t, "::1", 0)
	if _, err := a.WriteTo([]byte("v6"), transportAddr(b)); err != nil {
		t.Fatalf("WriteTo(%s) error: %v", transportAddr(b), err)
	}
	if p := recvPacket(t, b); string(p.Buf) != "v6" {
		t.Errorf("packet = %q, want %q", p.Buf, "v6")
	}
	ip, _, err := b.FinalAdvertiseAddr("", 0)
	if err != nil || !ip.Equal(net.IPv6loopback) {
		t.Errorf("FinalAdvertiseAddr = %v, %v; want ::1", ip, err)
	}
}

func TestTransportBindErrors(t *testing.T) {
	// A TCP port already taken.
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.ParseIP("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	_, err = newNetTransport("127.0.0.1", port, log.New(io.Discard, "", 0), metrics.Default(), nil, nil)
	want := "failed to obtain an address: failed to start TCP listener on \"127.0.0.1\" port " + strconv.Itoa(port) + ": "
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("bind to a taken TCP port: error = %v, want prefix %q", err, want)
	}
	// The cause stays reachable: a bind to port 0 retries on it.
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("bind to a taken TCP port: error %v is not EADDRINUSE", err)
	}

	// A UDP port already taken, its TCP twin free. Other tests open TCP
	// connections from 127.0.0.1, so this uses an address of its own and
	// retries when the TCP twin happens to be taken.
	const udpOnly = "127.0.1.77"
	for attempt := 0; ; attempt++ {
		udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(udpOnly)})
		if err != nil {
			t.Fatal(err)
		}
		port := udp.LocalAddr().(*net.UDPAddr).Port
		_, err = newNetTransport(udpOnly, port, log.New(io.Discard, "", 0), metrics.Default(), nil, nil)
		_ = udp.Close()
		if err != nil && strings.Contains(err.Error(), "failed to start TCP listener") && attempt < 10 {
			continue
		}
		want := "failed to obtain an address: failed to start UDP listener on \"" + udpOnly + "\" port " + strconv.Itoa(port) + ": "
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("bind to a taken UDP port: error = %v, want prefix %q", err, want)
		}
		// The TCP listener of the failed attempt was released.
		ln2, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.ParseIP(udpOnly), Port: port})
		if err != nil {
			t.Errorf("TCP port %d still held after a failed bind: %v", port, err)
		} else {
			_ = ln2.Close()
		}
		break
	}

	// An address that is not this host's.
	if _, err := newNetTransport("192.0.2.1", 0, log.New(io.Discard, "", 0), metrics.Default(), nil, nil); err == nil {
		t.Errorf("bind to 192.0.2.1: no error")
	}
}

func TestTransportShutdown(t *testing.T) {
	a := newTestTransport(t, "127.0.0.1", 0)
	b, err := newNetTransport("127.0.0.1", 0, log.New(io.Discard, "", 0), metrics.Default(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := transportAddr(b)

	// Nobody reads b's channels: its read loop is blocked handing over a
	// packet and its accept loop handing over a stream. Shutdown must
	// still return, with both goroutines gone (goleak checks at exit).
	if _, err := a.WriteTo([]byte("unread"), addr); err != nil {
		t.Fatal(err)
	}
	conn, err := a.DialTimeout(addr, transportWait)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	done := make(chan struct{})
	go func() {
		_ = b.Shutdown()
		_ = b.Shutdown() // idempotent
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(transportWait):
		t.Fatalf("Shutdown did not return after %v", transportWait)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		_ = c.Close()
		t.Errorf("dial %s after Shutdown succeeded, want refused", addr)
	}
}

// Packets and streams from outside CIDRsAllowed are dropped unread and
// counted; those from inside are handed on as before.
func TestTransportRefusesOutsideAllowed(t *testing.T) {
	m, sink := metricsink.New(t)
	_, inside, _ := net.ParseCIDR("127.0.0.1/32")
	tr, err := newNetTransport("127.0.0.1", 0, log.New(io.Discard, "", 0), m, nil, []net.IPNet{*inside})
	if err != nil {
		t.Fatalf("newNetTransport() error: %v", err)
	}
	t.Cleanup(func() { _ = tr.Shutdown() })
	addr := transportAddr(tr)

	send := func(from string, payload string) {
		t.Helper()
		c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(from)}, net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte(payload)); err != nil {
			t.Fatal(err)
		}
	}
	// The refused packet goes first: the one reader sees it first.
	send("127.0.0.2", "outside")
	send("127.0.0.1", "inside")
	if p := recvPacket(t, tr); string(p.Buf) != "inside" {
		t.Errorf("first packet handed on = %q from %v, want %q", p.Buf, p.From, "inside")
	}
	metricsink.WaitCounter(t, transportWait, sink, "test.memberlist.udp.refused")

	dial := func(from string) net.Conn {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: transportWait}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	outside := dial("127.0.0.2")
	_ = outside.SetReadDeadline(time.Now().Add(transportWait))
	if n, err := outside.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("read on a refused stream = %d, %v; want it closed", n, err)
	}
	metricsink.WaitCounter(t, transportWait, sink, "test.memberlist.tcp.refused")
	in := dial("127.0.0.1")
	select {
	case c := <-tr.StreamCh():
		if got, want := c.RemoteAddr().String(), in.LocalAddr().String(); got != want {
			t.Errorf("stream handed on from %s, want %s", got, want)
		}
		c.Close()
	case <-time.After(transportWait):
		t.Fatalf("no stream after %v", transportWait)
	}
}
