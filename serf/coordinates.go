package serf

import (
	"bytes"
	"errors"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/hashicorp/memberlist"
	"github.com/openserf/serf/coordinate"
)

// PingVersion is the first byte of the coordinate carried on ping acks.
// Append only: it is on the wire.
const PingVersion = 1

// ErrCoordinatesDisabled is returned by GetCoordinate when
// Config.DisableCoordinates is set.
var ErrCoordinatesDisabled = errors.New("Coordinates are disabled")

// pingDelegate carries this node's Vivaldi coordinate on every ack it
// sends, and updates it from the coordinate and RTT of every ping it
// completes.
type pingDelegate struct {
	serf *Serf
}

var _ memberlist.PingDelegate = (*pingDelegate)(nil)

// AckPayload is the version byte then the msgpack coordinate.
func (p *pingDelegate) AckPayload() []byte {
	var buf bytes.Buffer
	buf.WriteByte(PingVersion)
	if err := codec.NewEncoder(&buf, gossipHandle).Encode(p.serf.coordClient.GetCoordinate()); err != nil {
		p.serf.logger.Printf("[ERR] serf: Failed to encode coordinate: %v", err)
	}
	return buf.Bytes()
}

// NotifyPingComplete feeds a measured RTT and the peer's coordinate to the
// Vivaldi client. Bad payloads are logged and ignored.
func (p *pingDelegate) NotifyPingComplete(other *memberlist.Node, rtt time.Duration, payload []byte) {
	s := p.serf
	if len(payload) == 0 {
		return
	}
	if payload[0] != PingVersion {
		s.logger.Printf("[ERR] serf: Unsupported ping version: %v", payload[0])
		return
	}
	coord, err := decodePingCoordinate(payload[1:])
	if err != nil {
		s.logger.Printf("[ERR] serf: Failed to decode coordinate from ping: %v", err)
		return
	}
	// The coordinate client counts a zero rtt in serf.coordinate.zero-rtt.
	before := s.coordClient.GetCoordinate()
	after, err := s.coordClient.Update(other.Name, coord, rtt)
	if err != nil {
		s.metrics.IncrCounterWithLabels([]string{"serf", "coordinate", "rejected"}, 1, s.labels)
		s.logger.Printf("[TRACE] serf: Rejected coordinate from %s: %v", other.Name, err)
		return
	}
	moved := float32(before.DistanceTo(after).Seconds() * 1e3)
	s.metrics.AddSampleWithLabels([]string{"serf", "coordinate", "adjustment-ms"}, moved, s.labels)

	s.coordCacheLock.Lock()
	s.coordCache[other.Name] = coord
	s.coordCache[s.config.NodeName] = after
	s.coordCacheLock.Unlock()
}

// GetCoordinate returns this node's current network coordinate.
func (s *Serf) GetCoordinate() (*coordinate.Coordinate, error) {
	if s.config.DisableCoordinates {
		return nil, ErrCoordinatesDisabled
	}
	return s.coordClient.GetCoordinate(), nil
}

// GetCachedCoordinate returns the last coordinate seen for a node (this
// node included), if any.
func (s *Serf) GetCachedCoordinate(name string) (*coordinate.Coordinate, bool) {
	if s.config.DisableCoordinates {
		return nil, false
	}
	s.coordCacheLock.RLock()
	defer s.coordCacheLock.RUnlock()
	c, ok := s.coordCache[name]
	if !ok {
		return nil, false
	}
	return c.Clone(), true
}

// forgetCoordinate drops what is known of an erased member's coordinate.
func (s *Serf) forgetCoordinate(name string) {
	if s.config.DisableCoordinates {
		return
	}
	s.coordClient.ForgetNode(name)
	s.coordCacheLock.Lock()
	delete(s.coordCache, name)
	s.coordCacheLock.Unlock()
}

// decodePingCoordinate decodes the coordinate after the ping version byte.
// The Vivaldi client rejects what decodes but is not a usable coordinate.
func decodePingCoordinate(buf []byte) (*coordinate.Coordinate, error) {
	var c coordinate.Coordinate
	if err := codec.NewDecoderBytes(buf, gossipHandle).Decode(&c); err != nil {
		return nil, err
	}
	return &c, nil
}
