package bench

import (
	"bytes"
	"net"
	"strconv"
	"sync"
)

// statsdCounter is a UDP listener that the agents of a cluster send
// their statsd metrics to (statsd_addr in a config file, which both
// binaries read); it sums the counters whose name ends in one of the
// watched suffixes, whatever prefix (service, host name) a binary puts
// before them.
type statsdCounter struct {
	conn *net.UDPConn
	done chan struct{}

	lock   sync.Mutex
	counts map[string]float64 // by watched suffix
	watch  []string
}

// listenStatsd starts a statsdCounter on a free port of 127.0.0.1 that
// sums the counters named by suffixes ("memberlist.msg.suspect").
func listenStatsd(suffixes ...string) (*statsdCounter, error) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	s := &statsdCounter{conn: conn, done: make(chan struct{}), counts: map[string]float64{}, watch: suffixes}
	go s.loop()
	return s, nil
}

// Addr is the listener's ip:port.
func (s *statsdCounter) Addr() string { return s.conn.LocalAddr().String() }

func (s *statsdCounter) loop() {
	defer close(s.done)
	buf := make([]byte, 65536)
	for {
		n, err := s.conn.Read(buf)
		if err != nil {
			return
		}
		s.add(buf[:n])
	}
}

// add reads one datagram of "name:value|c" lines.
func (s *statsdCounter) add(pkt []byte) {
	s.lock.Lock()
	defer s.lock.Unlock()
	for line := range bytes.SplitSeq(pkt, []byte("\n")) {
		name, rest, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		val, kind, ok := bytes.Cut(rest, []byte("|"))
		if !ok || !bytes.HasPrefix(kind, []byte("c")) {
			continue
		}
		for _, w := range s.watch {
			if bytes.HasSuffix(name, []byte("."+w)) || string(name) == w {
				if v, err := strconv.ParseFloat(string(val), 64); err == nil {
					s.counts[w] += v
				}
			}
		}
	}
}

// Count is the sum so far of the counter named by suffix.
func (s *statsdCounter) Count(suffix string) int {
	s.lock.Lock()
	defer s.lock.Unlock()
	return int(s.counts[suffix] + 0.5)
}

// Close stops the listener and waits for its goroutine.
func (s *statsdCounter) Close() {
	s.conn.Close()
	<-s.done
}
