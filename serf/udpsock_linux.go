//go:build linux

package serf

import (
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"syscall"
	"unsafe"
)

// udpSocket is the transport's UDP listener as the gossip path uses it:
// one datagram sent to an address, one received with its source, with
// the errors net.UDPConn gives (memberlist logs them).
//
// On Linux both calls are made as raw system calls on the socket, which
// is non-blocking, so neither can block; when the socket is not ready
// the Go poller waits for it as for net.UDPConn. The reason is the Go
// runtime's monitor thread (sysmon). A system call made the usual way
// wakes it from its deep sleep, and it then checks the process every
// 20 us for the next millisecond or more, doubling its sleep only
// after fifty idle checks; at GOMAXPROCS=1 (the agent's setting) a
// call that the kernel keeps a moment longer also has its P handed to
// a new thread. An agent sends and receives a few packets at every
// gossip and probe tick, so the monitor made most of an idle agent's
// wake-ups, and in a fleet of 200 booting on two cores the monitors of
// all agents took a sixth of the machine, the CPU that gossip needed.
// A raw call keeps the thread and its P as they are and leaves the
// monitor asleep. Nothing on the wire changes.
//
// readFrom is called by one goroutine only (the transport's readLoop);
// writeTo by any number, one at a time as net.UDPConn's writes are.
type udpSocket struct {
	conn  *net.UDPConn
	raw   syscall.RawConn
	inet6 bool // an AF_INET6 socket: IPv4 peers as ::ffff:a.b.c.d

	wmu   sync.Mutex
	w     rawSend // guarded by wmu
	wcall func(fd uintptr) bool

	r     rawRecv
	rcall func(fd uintptr) bool
}

// rawSend is one sendto's arguments and result. The callbacks given to
// the RawConn are bound once to these, so a packet costs no allocation.
type rawSend struct {
	buf   unsafe.Pointer
	n     int
	sa4   syscall.RawSockaddrInet4
	sa6   syscall.RawSockaddrInet6
	sa    unsafe.Pointer
	salen uintptr
	errno syscall.Errno
}

// rawRecv is one recvfrom's arguments and results.
type rawRecv struct {
	buf   unsafe.Pointer
	n     int
	from  syscall.RawSockaddrAny
	flen  uint32
	got   int
	errno syscall.Errno
}

func newUDPSocket(conn *net.UDPConn) (*udpSocket, error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return nil, err
	}
	s := &udpSocket{conn: conn, raw: raw}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		var sa syscall.Sockaddr
		sa, serr = syscall.Getsockname(int(fd))
		_, s.inet6 = sa.(*syscall.SockaddrInet6)
	}); err != nil {
		return nil, err
	}
	if serr != nil {
		return nil, os.NewSyscallError("getsockname", serr)
	}
	s.w.sa4.Family = syscall.AF_INET
	s.w.sa6.Family = syscall.AF_INET6
	s.wcall = s.send
	s.rcall = s.recv
	return s, nil
}

// writeTo sends b to ap as one datagram.
func (s *udpSocket) writeTo(b []byte, ap netip.AddrPort) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	err := s.setDest(ap)
	if err == nil {
		s.w.n = len(b)
		if len(b) > 0 {
			s.w.buf = unsafe.Pointer(&b[0])
		}
		err = unwrapRaw(s.raw.Write(s.wcall))
		s.w.buf = nil
		if err == nil && s.w.errno != 0 {
			err = os.NewSyscallError("sendto", s.w.errno)
		}
	}
	if err != nil {
		return &net.OpError{Op: "write", Net: "udp", Source: s.conn.LocalAddr(), Addr: addrPortAddr{ap}, Err: err}
	}
	return nil
}

// setDest fills in the destination's socket address, as net.UDPConn
// does for the socket's family.
func (s *udpSocket) setDest(ap netip.AddrPort) error {
	addr, port := ap.Addr(), ap.Port()
	if !s.inet6 {
		if !addr.Is4() {
			return &net.AddrError{Err: "non-IPv4 address", Addr: addr.String()}
		}
		s.w.sa4.Addr = addr.As4()
		putPort(&s.w.sa4.Port, port)
		s.w.sa, s.w.salen = unsafe.Pointer(&s.w.sa4), syscall.SizeofSockaddrInet4
		return nil
	}
	s.w.sa6.Addr = addr.As16()
	putPort(&s.w.sa6.Port, port)
	s.w.sa6.Scope_id = 0
	if zone := addr.Zone(); zone != "" {
		s.w.sa6.Scope_id = zoneIndex(zone)
	}
	s.w.sa, s.w.salen = unsafe.Pointer(&s.w.sa6), syscall.SizeofSockaddrInet6
	return nil
}

// send is the RawConn write callback: false asks the poller to wait
// until the socket can take the datagram.
func (s *udpSocket) send(fd uintptr) bool {
	for {
		_, _, e := syscall.RawSyscall6(syscall.SYS_SENDTO, fd, uintptr(s.w.buf), uintptr(s.w.n), 0,
			uintptr(s.w.sa), s.w.salen)
		if e == syscall.EINTR {
			continue
		}
		s.w.errno = e
		return e != syscall.EAGAIN
	}
}

// readFrom reads one datagram into buf and gives its length and source,
// as net.UDPConn's ReadFromUDP gives them.
func (s *udpSocket) readFrom(buf []byte) (int, *net.UDPAddr, error) {
	s.r.n = len(buf)
	if len(buf) > 0 {
		s.r.buf = unsafe.Pointer(&buf[0])
	}
	err := unwrapRaw(s.raw.Read(s.rcall))
	s.r.buf = nil
	if err == nil && s.r.errno != 0 {
		err = os.NewSyscallError("recvfrom", s.r.errno)
	}
	if err != nil {
		return 0, nil, &net.OpError{Op: "read", Net: "udp", Source: s.conn.LocalAddr(), Err: err}
	}
	return s.r.got, s.source(), nil
}

// recv is the RawConn read callback: false asks the poller to wait for
// a datagram.
func (s *udpSocket) recv(fd uintptr) bool {
	for {
		s.r.flen = syscall.SizeofSockaddrAny
		n, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(s.r.buf), uintptr(s.r.n), 0,
			uintptr(unsafe.Pointer(&s.r.from)), uintptr(unsafe.Pointer(&s.r.flen)))
		if e == syscall.EINTR {
			continue
		}
		s.r.got, s.r.errno = int(n), e
		return e != syscall.EAGAIN
	}
}

// udpAddrBuf holds a source address and its IP in one allocation.
type udpAddrBuf struct {
	addr net.UDPAddr
	ip   [16]byte
}

// source is the last datagram's sender as net.UDPConn gives it: a
// four-byte IP from an AF_INET socket, sixteen from an AF_INET6 one.
func (s *udpSocket) source() *net.UDPAddr {
	b := new(udpAddrBuf)
	switch s.r.from.Addr.Family {
	case syscall.AF_INET:
		sa := (*syscall.RawSockaddrInet4)(unsafe.Pointer(&s.r.from))
		copy(b.ip[:], sa.Addr[:])
		b.addr.IP, b.addr.Port = b.ip[:4], getPort(&sa.Port)
	case syscall.AF_INET6:
		sa := (*syscall.RawSockaddrInet6)(unsafe.Pointer(&s.r.from))
		copy(b.ip[:], sa.Addr[:])
		b.addr.IP, b.addr.Port = b.ip[:16], getPort(&sa.Port)
		if sa.Scope_id != 0 {
			b.addr.Zone = zoneName(sa.Scope_id)
		}
	default:
		return nil
	}
	return &b.addr
}

// unwrapRaw makes a RawConn's error (a closed socket, say) read as the
// plain call's: the RawConn names itself in an OpError of its own.
func unwrapRaw(err error) error {
	if oe, ok := err.(*net.OpError); ok {
		return oe.Err
	}
	return err
}

// putPort and getPort write and read a port in network byte order.
func putPort(p *uint16, port uint16) {
	b := (*[2]byte)(unsafe.Pointer(p))
	b[0], b[1] = byte(port>>8), byte(port)
}

func getPort(p *uint16) int {
	b := (*[2]byte)(unsafe.Pointer(p))
	return int(b[0])<<8 | int(b[1])
}

// zoneIndex and zoneName convert an IPv6 zone as the net package does:
// an interface's name, or its index in decimal.
func zoneIndex(zone string) uint32 {
	if ifi, err := net.InterfaceByName(zone); err == nil {
		return uint32(ifi.Index)
	}
	n, _ := strconv.ParseUint(zone, 10, 32)
	return uint32(n)
}

func zoneName(index uint32) string {
	if ifi, err := net.InterfaceByIndex(int(index)); err == nil {
		return ifi.Name
	}
	return strconv.FormatUint(uint64(index), 10)
}

// addrPortAddr is a destination as net.UDPConn names it in a write's
// error.
type addrPortAddr struct{ netip.AddrPort }

func (addrPortAddr) Network() string { return "udp" }
