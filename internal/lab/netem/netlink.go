//go:build linux

package netem

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"
)

// Netlink framing, from linux/netlink.h. Headers and attribute headers are
// in the host's byte order; nfnetlink_queue's own fields are big endian.
const (
	nlmsgHeaderLen  = 16 // len u32, type u16, flags u16, seq u32, pid u32
	nlattrHeaderLen = 4  // len u16, type u16
	nfgenmsgLen     = 4  // family u8, version u8, res_id be16

	nlmsgError   = 2
	nlmsgOverrun = 4

	nlmFRequest = 0x1
	nlmFAck     = 0x4

	// nlattrTypeMask drops NLA_F_NESTED (0x8000) and NLA_F_NET_BYTEORDER
	// (0x4000) from an attribute's type.
	nlattrTypeMask = 0x3fff

	// maxErrno bounds the errors a kernel reports as -errno.
	maxErrno = 4095
)

// nfnetlink_queue, from linux/netfilter/nfnetlink.h and nfnetlink_queue.h.
// These numbers are kernel ABI: append only.
const (
	nfnlSubsysQueue = 3
	nfnetlinkV0     = 0

	nfqnlMsgPacket  = 0
	nfqnlMsgVerdict = 1
	nfqnlMsgConfig  = 2

	// Attributes of a packet message.
	nfqaPacketHdr = 1
	// Attributes of a verdict message.
	nfqaVerdictHdr = 2
	// Attributes of a config message.
	nfqaCfgCmd         = 1
	nfqaCfgParams      = 2
	nfqaCfgQueueMaxLen = 3

	nfqnlCfgCmdBind = 1

	nfqnlCopyMeta = 1

	// packetHdrLen is struct nfqnl_msg_packet_hdr, packed: packet_id
	// be32, hw_protocol be16, hook u8.
	packetHdrLen = 7
)

// verdict is what the kernel does with a queued packet.
type verdict uint32

// Verdicts, from linux/netfilter.h. Kernel ABI: append only.
const (
	verdictDrop   verdict = 0 // NF_DROP
	verdictAccept verdict = 1 // NF_ACCEPT
)

// msgType returns the netlink message type of an nfnetlink_queue message.
func msgType(m uint16) uint16 { return nfnlSubsysQueue<<8 | m }

var (
	packetMsgType = msgType(nfqnlMsgPacket)
	verdictMsgLen = nlmsgHeaderLen + nfgenmsgLen + nlattrHeaderLen + 8
)

// errMalformed marks bytes from the socket that are not well-formed
// netlink.
var errMalformed = errors.New("malformed netlink message")

// packetHeader is the part of a queued packet's metadata that the queue
// uses (the ID) or that helps a human reading a trace.
type packetHeader struct {
	ID         uint32
	HWProtocol uint16 // EtherType, 0x0800 for IPv4
	Hook       uint8  // netfilter hook, 3 for NF_INET_LOCAL_OUT
}

// message is one netlink message read from the queue's socket, reduced to
// what the queue acts on.
type message struct {
	Type  uint16 // netlink message type
	Flags uint16
	Seq   uint32

	// Queue and Packet are set for a packet message (Type ==
	// packetMsgType).
	Queue  uint16
	Packet packetHeader

	// Errno is set for an NLMSG_ERROR message: zero for an
	// acknowledgement, else the error the request got.
	Errno syscall.Errno
}

func (m message) isPacket() bool { return m.Type == packetMsgType }

func align4(n int) int { return (n + 3) &^ 3 }

// parseMessages appends to dst the messages in b, one datagram read from
// a netlink socket, and returns the extended slice. On malformed input it
// returns the messages before the fault and an error wrapping
// errMalformed. It never keeps a reference to b.
func parseMessages(b []byte, dst []message) ([]message, error) {
	for len(b) > 0 {
		if len(b) < nlmsgHeaderLen {
			return dst, fmt.Errorf("%w: %d trailing bytes", errMalformed, len(b))
		}
		n := binary.NativeEndian.Uint32(b[0:4])
		if n < nlmsgHeaderLen || uint64(n) > uint64(len(b)) {
			return dst, fmt.Errorf("%w: length %d, have %d bytes", errMalformed, n, len(b))
		}
		m := message{
			Type:  binary.NativeEndian.Uint16(b[4:6]),
			Flags: binary.NativeEndian.Uint16(b[6:8]),
			Seq:   binary.NativeEndian.Uint32(b[8:12]),
		}
		body := b[nlmsgHeaderLen:n]
		var err error
		switch m.Type {
		case nlmsgError:
			m.Errno, err = parseError(body)
		case packetMsgType:
			m.Queue, m.Packet, err = parsePacket(body)
		}
		if err != nil {
			return dst, fmt.Errorf("%w: message type %#x: %w", errMalformed, m.Type, err)
		}
		dst = append(dst, m)
		b = b[min(align4(int(n)), len(b)):]
	}
	return dst, nil
}

// parseError decodes the body of an NLMSG_ERROR message: a negative errno
// (zero for an acknowledgement), then the request's header, which is not
// needed.
func parseError(body []byte) (syscall.Errno, error) {
	if len(body) < 4 {
		return 0, fmt.Errorf("error body of %d bytes", len(body))
	}
	e := int32(binary.NativeEndian.Uint32(body[0:4]))
	if e > 0 || e < -maxErrno {
		return 0, fmt.Errorf("error code %d", e)
	}
	return syscall.Errno(-e), nil
}

// parsePacket decodes the body of an NFQNL_MSG_PACKET message: the
// nfgenmsg, whose res_id is the queue number, then attributes, of which
// only NFQA_PACKET_HDR is needed and required.
func parsePacket(body []byte) (uint16, packetHeader, error) {
	var hdr packetHeader
	if len(body) < nfgenmsgLen {
		return 0, hdr, fmt.Errorf("packet body of %d bytes", len(body))
	}
	queue := binary.BigEndian.Uint16(body[2:4])
	found := false
	attrs := body[nfgenmsgLen:]
	for len(attrs) > 0 {
		if len(attrs) < nlattrHeaderLen {
			return 0, hdr, fmt.Errorf("%d trailing attribute bytes", len(attrs))
		}
		n := int(binary.NativeEndian.Uint16(attrs[0:2]))
		typ := binary.NativeEndian.Uint16(attrs[2:4]) & nlattrTypeMask
		if n < nlattrHeaderLen || n > len(attrs) {
			return 0, hdr, fmt.Errorf("attribute %d of length %d, have %d bytes", typ, n, len(attrs))
		}
		if typ == nfqaPacketHdr {
			v := attrs[nlattrHeaderLen:n]
			if len(v) < packetHdrLen {
				return 0, hdr, fmt.Errorf("packet header of %d bytes, want %d", len(v), packetHdrLen)
			}
			hdr = packetHeader{
				ID:         binary.BigEndian.Uint32(v[0:4]),
				HWProtocol: binary.BigEndian.Uint16(v[4:6]),
				Hook:       v[6],
			}
			found = true
		}
		attrs = attrs[min(align4(n), len(attrs)):]
	}
	if !found {
		return 0, hdr, errors.New("packet without a packet header")
	}
	return queue, hdr, nil
}

// appendHeader appends a netlink header and an nfgenmsg for queue, with
// the total length to be patched by the caller, and returns b and the
// header's offset in it.
func appendHeader(b []byte, typ, flags uint16, seq uint32, queue uint16) ([]byte, int) {
	at := len(b)
	b = binary.NativeEndian.AppendUint32(b, 0)
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = binary.NativeEndian.AppendUint16(b, flags)
	b = binary.NativeEndian.AppendUint32(b, seq)
	b = binary.NativeEndian.AppendUint32(b, 0) // port ID: the kernel fills it in
	b = append(b, syscall.AF_UNSPEC, nfnetlinkV0)
	b = binary.BigEndian.AppendUint16(b, queue)
	return b, at
}

// finish writes the length of the message at offset at, which runs to the
// end of b.
func finish(b []byte, at int) []byte {
	binary.NativeEndian.PutUint32(b[at:], uint32(len(b)-at))
	return b
}

// appendAttr appends an attribute of type typ with value v, padded to 4
// bytes.
func appendAttr(b []byte, typ uint16, v ...byte) []byte {
	b = binary.NativeEndian.AppendUint16(b, uint16(nlattrHeaderLen+len(v)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// appendBind appends the one config message that binds this socket to
// queue, asks for metadata only (no packet bytes) and lets maxLen packets
// wait in the kernel. The kernel applies the command before the
// parameters, so one message does it all; it is acknowledged.
func appendBind(b []byte, seq uint32, queue uint16, maxLen uint32) []byte {
	b, at := appendHeader(b, msgType(nfqnlMsgConfig), nlmFRequest|nlmFAck, seq, queue)
	b = appendAttr(b, nfqaCfgCmd, nfqnlCfgCmdBind, 0, 0, syscall.AF_UNSPEC)
	b = appendAttr(b, nfqaCfgParams, 0, 0, 0, 0, nfqnlCopyMeta) // copy_range be32 0, copy_mode
	b = appendAttr(b, nfqaCfgQueueMaxLen, binary.BigEndian.AppendUint32(nil, maxLen)...)
	return finish(b, at)
}

// appendVerdict appends the verdict v for packet id of queue. It asks for
// no acknowledgement; the kernel still reports an error, as an
// NLMSG_ERROR message the reader counts.
func appendVerdict(b []byte, queue uint16, id uint32, v verdict) []byte {
	b, at := appendHeader(b, msgType(nfqnlMsgVerdict), nlmFRequest, 0, queue)
	b = binary.NativeEndian.AppendUint16(b, nlattrHeaderLen+8)
	b = binary.NativeEndian.AppendUint16(b, nfqaVerdictHdr)
	b = binary.BigEndian.AppendUint32(b, uint32(v))
	b = binary.BigEndian.AppendUint32(b, id)
	return finish(b, at)
}
