package sim

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"

	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// Link describes the simulated network between any two nodes. Every packet
// is delayed by Delay plus a uniform random share of Jitter and lost with
// probability Loss. Streams never lose data: each write and the connection
// set-up take Delay (plus jitter) instead.
type Link struct {
	// Delay is the one-way latency. Zero delivers at once.
	Delay time.Duration
	// Jitter adds a uniform random [0, Jitter) to each packet's delay.
	Jitter time.Duration
	// Loss is the probability in [0, 1) that a packet is dropped.
	Loss float64
}

func (l Link) String() string {
	return fmt.Sprintf("delay %v jitter %v loss %.1f%%", l.Delay, l.Jitter, l.Loss*100)
}

// ErrUnreachable is returned by a dial that cannot reach its peer: the
// peer is silent, shut down or unknown. The dial waits for its timeout
// first, as a TCP connect into a black hole would.
var ErrUnreachable = errors.New("sim: peer unreachable")

// ErrClosed is returned by a transport after Shutdown.
var ErrClosed = errors.New("sim: transport closed")

// Network is an in-memory network of transports. It owns every packet in
// flight: delivery goroutines are tracked and end when their destination
// shuts down, so Wait returns once all transports are shut down.
type Network struct {
	mu    sync.Mutex
	nodes map[string]*Transport // by "ip:port"; guarded by mu
	link  Link                  // guarded by mu
	next  uint32                // last address handed out; guarded by mu

	wg sync.WaitGroup // delivery and dial goroutines

	sent      atomic.Uint64 // packets written
	lost      atomic.Uint64 // packets dropped by Loss
	dropped   atomic.Uint64 // packets to or from silent, closed or unknown nodes
	gossip    atomic.Uint64 // packets carrying anything but a bare ping or ack
	streams   atomic.Uint64 // stream connections opened
	delivered atomic.Uint64 // packets handed to a PacketCh
}

// NewNetwork returns an empty network with the given link properties.
func NewNetwork(link Link) *Network {
	return &Network{nodes: make(map[string]*Transport), link: link}
}

// SetLink changes the link properties for packets and streams sent from
// now on.
func (n *Network) SetLink(link Link) {
	n.mu.Lock()
	n.link = link
	n.mu.Unlock()
}

// Link returns the current link properties.
func (n *Network) Link() Link {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.link
}

// Stats are the network's packet counters since it was made.
type Stats struct {
	Sent, Lost, Dropped, Gossip, Streams, Delivered uint64
}

// Stats returns the counters.
func (n *Network) Stats() Stats {
	return Stats{
		Sent:      n.sent.Load(),
		Lost:      n.lost.Load(),
		Dropped:   n.dropped.Load(),
		Gossip:    n.gossip.Load(),
		Streams:   n.streams.Load(),
		Delivered: n.delivered.Load(),
	}
}

// NewTransport adds a node with a fresh address (10.x.y.z:7946) to the
// network and returns its transport, ready for memberlist.Config.Transport.
func (n *Network) NewTransport() *Transport {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.next++
	v := n.next
	ip := net.IPv4(10, byte(v>>16), byte(v>>8), byte(v))
	t := &Transport{
		net:        n,
		ip:         ip,
		port:       7946,
		addr:       net.JoinHostPort(ip.String(), "7946"),
		packetCh:   make(chan *memberlist.Packet, 256),
		streamCh:   make(chan net.Conn),
		shutdownCh: make(chan struct{}),
	}
	t.from = &net.UDPAddr{IP: ip, Port: t.port}
	n.nodes[t.addr] = t
	return t
}

// Wait blocks until every delivery and dial goroutine has ended. Call it
// after all transports are shut down.
func (n *Network) Wait() { n.wg.Wait() }

// route picks the destination and the fate of one packet or stream: its
// delay and whether it is lost. lossy is false for streams.
func (n *Network) route(addr string, lossy bool) (dst *Transport, delay time.Duration, lost bool) {
	n.mu.Lock()
	dst = n.nodes[addr]
	link := n.link
	n.mu.Unlock()
	delay = link.Delay
	if link.Jitter > 0 {
		delay += rand.N(link.Jitter)
	}
	if lossy && link.Loss > 0 && rand.Float64() < link.Loss {
		lost = true
	}
	return dst, delay, lost
}

// Transport is one node's memberlist.NodeAwareTransport on a Network.
type Transport struct {
	net  *Network
	ip   net.IP
	port int
	addr string
	from *net.UDPAddr

	packetCh   chan *memberlist.Packet
	streamCh   chan net.Conn
	shutdownCh chan struct{}
	closeOnce  sync.Once
	silent     atomic.Bool
}

var _ memberlist.NodeAwareTransport = (*Transport)(nil)

// Addr is the transport's address as "ip:port".
func (t *Transport) Addr() string { return t.addr }

// Silence cuts the node off the network without shutting it down: from
// now on its packets vanish in both directions and dials to or from it
// time out. To its peers this is a crashed host.
func (t *Transport) Silence() { t.silent.Store(true) }

// Silent reports whether Silence was called.
func (t *Transport) Silent() bool { return t.silent.Load() }

func (t *Transport) closed() bool {
	select {
	case <-t.shutdownCh:
		return true
	default:
		return false
	}
}

// reachable reports whether a packet or stream can go from t to dst.
func (t *Transport) reachable(dst *Transport) bool {
	return dst != nil && !t.Silent() && !dst.Silent() && !dst.closed()
}

// FinalAdvertiseAddr implements memberlist.Transport: a node advertises
// the address the network gave it, whatever it was configured with.
func (t *Transport) FinalAdvertiseAddr(string, int) (net.IP, int, error) {
	return t.ip, t.port, nil
}

// WriteTo implements memberlist.Transport.
func (t *Transport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.WriteToAddress(b, memberlist.Address{Addr: addr})
}

// WriteToAddress implements memberlist.NodeAwareTransport. It never
// blocks: a packet is either dropped or handed to a delivery goroutine
// (or, with no delay, straight to the peer's buffered channel).
func (t *Transport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	now := time.Now()
	if t.closed() {
		return now, ErrClosed
	}
	n := t.net
	n.sent.Add(1)
	if carriesGossip(b) {
		n.gossip.Add(1)
	}
	dst, delay, lost := n.route(a.Addr, true)
	if !t.reachable(dst) {
		n.dropped.Add(1)
		return now, nil
	}
	if lost {
		n.lost.Add(1)
		return now, nil
	}
	p := &memberlist.Packet{Buf: append([]byte(nil), b...), From: t.from}
	if delay == 0 {
		p.Timestamp = now
		select {
		case dst.packetCh <- p:
			n.delivered.Add(1)
			return now, nil
		default:
		}
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		dst.deliver(p, delay, t)
	}()
	return now, nil
}

// deliver hands p to t after delay, unless t shuts down or either end is
// silenced meanwhile.
func (t *Transport) deliver(p *memberlist.Packet, delay time.Duration, src *Transport) {
	if delay > 0 {
		timer := time.NewTimer(delay)
		select {
		case <-timer.C:
		case <-t.shutdownCh:
			timer.Stop()
			return
		}
	}
	if !src.reachable(t) {
		t.net.dropped.Add(1)
		return
	}
	p.Timestamp = time.Now()
	select {
	case t.packetCh <- p:
		t.net.delivered.Add(1)
	case <-t.shutdownCh:
	}
}

// carriesGossip reports whether a packet is anything but a bare ping or
// ack: gossip, piggybacked broadcasts, indirect probes. An idle cluster
// sends only bare pings and acks, so a network with no such packets for a
// while has empty broadcast queues everywhere.
func carriesGossip(b []byte) bool {
	const (
		pingMsg    = 0
		ackRespMsg = 2
		hasCrcMsg  = 12
	)
	if len(b) > 5 && b[0] == hasCrcMsg {
		b = b[5:]
	}
	return len(b) == 0 || (b[0] != pingMsg && b[0] != ackRespMsg)
}

// PacketCh implements memberlist.Transport.
func (t *Transport) PacketCh() <-chan *memberlist.Packet { return t.packetCh }

// DialTimeout implements memberlist.Transport.
func (t *Transport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

// DialAddressTimeout implements memberlist.NodeAwareTransport. The
// connection is a net.Pipe whose far end reaches the peer's StreamCh after
// one delay; the dial returns after a round trip. An unreachable peer
// makes the dial wait out timeout and fail, as a silent host does.
func (t *Transport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	if t.closed() {
		return nil, ErrClosed
	}
	n := t.net
	dst, delay, _ := n.route(a.Addr, false)
	if !t.reachable(dst) || (timeout > 0 && 2*delay >= timeout) {
		n.dropped.Add(1)
		if timeout <= 0 {
			return nil, ErrUnreachable
		}
		if !t.wait(timeout) {
			return nil, ErrClosed
		}
		return nil, fmt.Errorf("dial %s: %w", a.Addr, ErrUnreachable)
	}
	n.streams.Add(1)
	local, remote := net.Pipe()
	client := &delayedConn{Conn: local, delay: delay, stop: t.shutdownCh}
	server := &delayedConn{Conn: remote, delay: delay, stop: dst.shutdownCh}
	if !t.wait(delay) {
		local.Close()
		remote.Close()
		return nil, ErrClosed
	}
	select {
	case dst.streamCh <- server:
	case <-dst.shutdownCh:
		local.Close()
		remote.Close()
		return nil, fmt.Errorf("dial %s: %w", a.Addr, ErrUnreachable)
	case <-t.shutdownCh:
		local.Close()
		remote.Close()
		return nil, ErrClosed
	}
	if !t.wait(delay) {
		local.Close()
		return nil, ErrClosed
	}
	return client, nil
}

// wait sleeps for d unless t shuts down first; it reports false then.
func (t *Transport) wait(d time.Duration) bool {
	if d <= 0 {
		return !t.closed()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-t.shutdownCh:
		return false
	}
}

// StreamCh implements memberlist.Transport.
func (t *Transport) StreamCh() <-chan net.Conn { return t.streamCh }

// Shutdown implements memberlist.Transport: the node leaves the network
// and every packet on its way to it is discarded. It is idempotent.
func (t *Transport) Shutdown() error {
	t.closeOnce.Do(func() {
		close(t.shutdownCh)
		t.net.mu.Lock()
		delete(t.net.nodes, t.addr)
		t.net.mu.Unlock()
	})
	return nil
}

// delayedConn delays every write by the link's one-way delay, so that a
// stream exchange (push/pull, TCP ping) costs the round trips it would on
// a real network. net.Pipe itself is synchronous and loses nothing.
type delayedConn struct {
	net.Conn
	delay time.Duration
	stop  <-chan struct{}
}

func (c *delayedConn) Write(b []byte) (int, error) {
	if c.delay > 0 {
		timer := time.NewTimer(c.delay)
		select {
		case <-timer.C:
		case <-c.stop:
			timer.Stop()
			return 0, ErrClosed
		}
	}
	return c.Conn.Write(b)
}

// String is for logs: "10.0.0.1:7946".
func (t *Transport) String() string { return t.addr }
