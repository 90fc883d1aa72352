package serf

import (
	"errors"
	"fmt"
	"log"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	metrics "github.com/hashicorp/go-metrics"
	sockaddr "github.com/hashicorp/go-sockaddr"
	"github.com/hashicorp/memberlist"
)

// netTransport is the memberlist transport a node uses unless its
// configuration brings one. It behaves as memberlist's NetTransport (the
// same listeners, bind and advertise rules, errors and metrics, the same
// bytes on the wire) with one difference: NetTransport reads every UDP
// packet into a fresh 64 KiB buffer and hands memberlist a slice of it,
// so each gossip packet of a few hundred bytes costs 64 KiB of garbage
// and keeps the whole buffer alive while memberlist queues the message.
// netTransport reads into one reused buffer and hands memberlist an
// exactly sized copy.
//
// Beyond NetTransport, it drops unread the packets and streams whose
// source is outside the configuration's CIDRsAllowed, counting them in
// memberlist.udp.refused and memberlist.tcp.refused. memberlist itself
// only refuses alive messages and members from outside those networks
// but still answers their pings and state exchanges (which hand over the
// member list).
//
// It listens on one address (memberlist has one BindAddr). Three
// goroutines, one per listener and one handing memberlist the packets
// read (packetq.go), are started by newNetTransport and waited for by
// Shutdown.
type netTransport struct {
	bindAddr string
	logger   *log.Logger
	metrics  *metrics.Metrics
	labels   []metrics.Label
	// allowed are the networks packets and streams may come from; empty
	// allows every source, as memberlist's CIDRsAllowed.
	allowed []net.IPNet
	// compress moves memberlist's gossip compression here (compress.go);
	// set by Create before memberlist starts, while the listeners run.
	compress atomic.Bool
	// sorts, once set, has received packets handed on most urgent first
	// (packetq.go); set by Create for nodes whose packets it can read.
	sorts atomic.Bool
	queue *packetQueue
	// watch, once set, is shown every packet's accusations of the local
	// node before memberlist queues them (refute.go).
	watch atomic.Pointer[selfWatch]
	// selfLeaves, once set, notes the leaves that nodes announce in
	// received packets (selfleave.go).
	selfLeaves atomic.Pointer[selfLeaves]
	// repeats, once set, has copies of gossip already handed on dropped
	// (repeats.go); only readLoop uses it.
	repeats atomic.Pointer[gossipRepeats]

	packetCh chan *memberlist.Packet
	streamCh chan net.Conn

	tcpLn   *net.TCPListener
	udpConn *net.UDPConn
	udp     *udpSocket // udpConn's sends and receives (udpsock_linux.go)

	stopOnce sync.Once
	stopCh   chan struct{}
	wg       sync.WaitGroup
}

var _ memberlist.NodeAwareTransport = (*netTransport)(nil)

const (
	// udpPacketBufSize is the largest datagram read, as NetTransport's.
	udpPacketBufSize = 65536
	// udpRecvBufSize is the socket receive buffer asked for; it is halved
	// until the kernel accepts it, as NetTransport does.
	udpRecvBufSize = 2 * 1024 * 1024
	// bindAttempts is how often a port-0 bind is retried when the port the
	// kernel chose for TCP is taken for UDP (memberlist retries 10 times).
	bindAttempts = 10
)

// selfWatch is the local node's name and what to call when a packet
// accuses it.
type selfWatch struct {
	name    string
	accused func(accusation)
	// told, when set, gets every suspect or dead message this node
	// raised as it goes out (refute.go).
	told func(msg []byte, a accusation)
	// answering reports that a refutation waits to go out; answered then
	// gets the first alive message about this node sent.
	answering func() bool
	answered  func(msg []byte, inc uint32)
}

// newNetTransport listens on bindAddr:port, TCP first and then UDP on the
// same port. Port 0 lets the kernel choose; the bind is then retried when
// the chosen port is already taken for UDP. Errors read as memberlist's.
// allowed is memberlist's CIDRsAllowed (nil: every source).
func newNetTransport(bindAddr string, port int, logger *log.Logger, m *metrics.Metrics, labels []metrics.Label,
	allowed []net.IPNet) (*netTransport, error) {
	attempts := 1
	if port == 0 {
		attempts = bindAttempts
	}
	var err error
	for range attempts {
		var t *netTransport
		if t, err = listen(bindAddr, port, logger, m, labels, allowed); err == nil {
			return t, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
		logger.Printf("[DEBUG] memberlist: Got bind error: %v", err)
	}
	return nil, fmt.Errorf("failed to obtain an address: %w", err)
}

// listen makes one attempt at binding both listeners and starts their
// goroutines.
func listen(bindAddr string, port int, logger *log.Logger, m *metrics.Metrics, labels []metrics.Label,
	allowed []net.IPNet) (*netTransport, error) {
	ip := net.ParseIP(bindAddr)
	tcpLn, err := net.ListenTCP("tcp", &net.TCPAddr{IP: ip, Port: port})
	if err != nil {
		return nil, fmt.Errorf("failed to start TCP listener on %q port %d: %w", bindAddr, port, err)
	}
	if port == 0 {
		port = tcpLn.Addr().(*net.TCPAddr).Port
	}
	udpConn, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: port})
	if err != nil {
		_ = tcpLn.Close()
		return nil, fmt.Errorf("failed to start UDP listener on %q port %d: %w", bindAddr, port, err)
	}
	if err := setUDPRecvBuf(udpConn); err != nil {
		_ = tcpLn.Close()
		_ = udpConn.Close()
		return nil, fmt.Errorf("failed to resize UDP buffer: %w", err)
	}
	udp, err := newUDPSocket(udpConn)
	if err != nil {
		_ = tcpLn.Close()
		_ = udpConn.Close()
		return nil, fmt.Errorf("failed to start UDP listener on %q port %d: %w", bindAddr, port, err)
	}
	t := &netTransport{
		bindAddr: bindAddr,
		logger:   logger,
		metrics:  m,
		labels:   labels,
		allowed:  allowed,
		packetCh: make(chan *memberlist.Packet),
		streamCh: make(chan net.Conn),
		tcpLn:    tcpLn,
		udpConn:  udpConn,
		udp:      udp,
		stopCh:   make(chan struct{}),
		queue:    newPacketQueue(),
	}
	t.wg.Add(3)
	go t.acceptLoop()
	go t.readLoop()
	go t.deliverLoop()
	return t, nil
}

func setUDPRecvBuf(c *net.UDPConn) error {
	var err error
	for size := udpRecvBufSize; size > 0; size /= 2 {
		if err = c.SetReadBuffer(size); err == nil {
			return nil
		}
	}
	return err
}

// AutoBindPort is the port the listeners are bound to.
func (t *netTransport) AutoBindPort() int {
	return t.tcpLn.Addr().(*net.TCPAddr).Port
}

// FinalAdvertiseAddr is the address given when there is one; otherwise
// the bound address, or a private IP of this host when bound to 0.0.0.0.
func (t *netTransport) FinalAdvertiseAddr(ip string, port int) (net.IP, int, error) {
	if ip != "" {
		addr := net.ParseIP(ip)
		if addr == nil {
			return nil, 0, fmt.Errorf("failed to parse advertise address %q", ip)
		}
		if ip4 := addr.To4(); ip4 != nil {
			addr = ip4
		}
		return addr, port, nil
	}
	if t.bindAddr == "0.0.0.0" {
		private, err := sockaddr.GetPrivateIP()
		if err != nil {
			return nil, 0, fmt.Errorf("failed to get interface addresses: %w", err)
		}
		if private == "" {
			return nil, 0, errors.New("no private IP address found, and explicit IP not provided")
		}
		addr := net.ParseIP(private)
		if addr == nil {
			return nil, 0, fmt.Errorf("failed to parse advertise address: %q", private)
		}
		return addr, t.AutoBindPort(), nil
	}
	return t.tcpLn.Addr().(*net.TCPAddr).IP, t.AutoBindPort(), nil
}

// WriteTo sends one packet to addr ("ip:port" or "host:port").
func (t *netTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.WriteToAddress(b, memberlist.Address{Addr: addr})
}

// WriteToAddress sends one packet to a.Addr.
func (t *netTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	if w := t.watch.Load(); w != nil && w.told != nil {
		ownAccusations(b, w.name, w.told)
		if w.answering() {
			if msg, inc, ok := ownAlive(b, w.name); ok {
				w.answered(msg, inc)
			}
		}
	}
	if t.compress.Load() {
		b = compressPacket(b)
	}
	// memberlist passes "ip:port" almost always; parse that without the
	// resolver's allocations and fall back to it for host names.
	if ap, err := netip.ParseAddrPort(a.Addr); err == nil {
		return time.Now(), t.udp.writeTo(b, ap)
	}
	udpAddr, err := net.ResolveUDPAddr("udp", a.Addr)
	if err != nil {
		return time.Time{}, err
	}
	_, err = t.udpConn.WriteTo(b, udpAddr)
	return time.Now(), err
}

// writeDirect sends msg, one memberlist message, to addr as it is.
func (t *netTransport) writeDirect(msg []byte, addr netip.AddrPort) {
	_ = t.udp.writeTo(msg, addr)
}

// PacketCh delivers received packets, each in its own exactly sized
// buffer that memberlist may keep.
func (t *netTransport) PacketCh() <-chan *memberlist.Packet { return t.packetCh }

// DialTimeout opens a stream to addr.
func (t *netTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

// DialAddressTimeout opens a stream to a.Addr.
func (t *netTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout}
	conn, err := d.Dial("tcp", a.Addr)
	if err != nil || !t.compress.Load() {
		return conn, err
	}
	return &compressConn{Conn: conn}, nil
}

// StreamCh delivers accepted streams.
func (t *netTransport) StreamCh() <-chan net.Conn { return t.streamCh }

// Shutdown closes the listeners and waits for both goroutines. It is
// idempotent.
func (t *netTransport) Shutdown() error {
	t.stopOnce.Do(func() {
		close(t.stopCh)
		_ = t.tcpLn.Close()
		_ = t.udpConn.Close()
	})
	t.wg.Wait()
	return nil
}

func (t *netTransport) stopped() bool {
	select {
	case <-t.stopCh:
		return true
	default:
		return false
	}
}

// acceptLoop hands accepted connections to memberlist. Accept errors other
// than the shutdown's are retried after a delay doubling from 5ms to 1s.
func (t *netTransport) acceptLoop() {
	defer t.wg.Done()
	const (
		baseDelay = 5 * time.Millisecond
		maxDelay  = time.Second
	)
	var delay time.Duration
	for {
		conn, err := t.tcpLn.AcceptTCP()
		if err != nil {
			if t.stopped() {
				return
			}
			delay = min(max(2*delay, baseDelay), maxDelay)
			t.logger.Printf("[ERR] memberlist: Error accepting TCP connection: %v", err)
			timer := time.NewTimer(delay)
			select {
			case <-timer.C:
			case <-t.stopCh:
				timer.Stop()
				return
			}
			continue
		}
		delay = 0
		if !t.allows(conn.RemoteAddr().(*net.TCPAddr).IP) {
			t.metrics.IncrCounterWithLabels([]string{"memberlist", "tcp", "refused"}, 1, t.labels)
			_ = conn.Close()
			continue
		}
		var stream net.Conn = conn
		if t.compress.Load() {
			stream = &compressConn{Conn: conn}
		}
		select {
		case t.streamCh <- stream:
		case <-t.stopCh:
			_ = conn.Close()
			return
		}
	}
}

// allows reports whether a packet or stream from ip is handed on. Nothing
// is logged: a flood from outside must not flood the log too.
func (t *netTransport) allows(ip net.IP) bool {
	if len(t.allowed) == 0 {
		return true
	}
	for _, n := range t.allowed {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// readLoop reads datagrams into one reused buffer and queues a copy of
// each for memberlist.
func (t *netTransport) readLoop() {
	defer t.wg.Done()
	buf := make([]byte, udpPacketBufSize)
	for {
		n, addr, err := t.udp.readFrom(buf)
		ts := time.Now()
		if err != nil {
			if t.stopped() {
				return
			}
			t.logger.Printf("[ERR] memberlist: Error reading UDP packet: %v", err)
			continue
		}
		if n < 1 {
			t.logger.Printf("[ERR] memberlist: UDP packet too short (%d bytes) %s", n, memberlist.LogAddress(addr))
			continue
		}
		if addr == nil {
			continue // a source of no IP family: nothing to answer
		}
		if !t.allows(addr.IP) {
			t.metrics.IncrCounterWithLabels([]string{"memberlist", "udp", "refused"}, 1, t.labels)
			continue
		}
		t.metrics.IncrCounterWithLabels([]string{"memberlist", "udp", "received"}, float32(n), t.labels)
		var pkt []byte
		if t.compress.Load() {
			pkt = decompressPacket(buf[:n])
		}
		if pkt == nil {
			pkt = make([]byte, n)
			copy(pkt, buf[:n])
		}
		if w := t.watch.Load(); w != nil {
			if a, ok := findAccusation(pkt, w.name); ok {
				w.accused(a)
			}
		}
		if l := t.selfLeaves.Load(); l != nil {
			noteSelfLeaves(pkt, func(node string) { l.note(node, ts) })
		}
		if !t.sorts.Load() {
			t.queue.push(&memberlist.Packet{Buf: pkt, From: addr, Timestamp: ts}, urgentNone)
			continue
		}
		g := t.repeats.Load()
		if g != nil {
			g.tick(ts)
		}
		for _, part := range splitPacket(pkt, g) {
			if t.queue.push(&memberlist.Packet{Buf: part.buf, From: addr, Timestamp: ts}, part.urgency) {
				for _, k := range part.keys {
					g.add(k, ts)
				}
			}
		}
	}
}

// deliverLoop hands memberlist the queued packets, most urgent first.
func (t *netTransport) deliverLoop() {
	defer t.wg.Done()
	for {
		p := t.queue.pop()
		if p == nil {
			select {
			case <-t.queue.ready:
				continue
			case <-t.stopCh:
				return
			}
		}
		select {
		case t.packetCh <- p:
		case <-t.stopCh:
			return
		}
	}
}
