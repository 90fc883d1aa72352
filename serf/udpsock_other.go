//go:build !linux

package serf

import (
	"net"
	"net/netip"
)

// udpSocket is the transport's UDP listener as the gossip path uses it
// (udpsock_linux.go); here it is the net.UDPConn's own calls.
type udpSocket struct{ conn *net.UDPConn }

func newUDPSocket(conn *net.UDPConn) (*udpSocket, error) { return &udpSocket{conn: conn}, nil }

func (s *udpSocket) writeTo(b []byte, ap netip.AddrPort) error {
	_, err := s.conn.WriteToUDPAddrPort(b, ap)
	return err
}

func (s *udpSocket) readFrom(buf []byte) (int, *net.UDPAddr, error) {
	return s.conn.ReadFromUDP(buf)
}
