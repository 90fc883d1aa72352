package agent

import (
	"fmt"
	"log"
	"net"
	"strings"

	metrics "github.com/hashicorp/go-metrics"
)

// parseCIDRs reads the networks of an allow-list key ("10.0.0.0/8",
// "fd00::/8"); nil for an empty list. The error names the key and the
// entry.
func parseCIDRs(key string, cidrs []string) ([]net.IPNet, error) {
	var nets []net.IPNet
	for _, s := range cidrs {
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return nil, fmt.Errorf("Invalid %s: %q is not a network in CIDR notation (such as 10.0.0.0/8)", key, s)
		}
		nets = append(nets, *n)
	}
	return nets, nil
}

// allowList is a listener that hands on only the connections from an
// address in its networks. Any other is closed as soon as it is accepted,
// before a byte is read, counted in the counter named by refused and
// logged at DEBUG (a scan must not flood the log). Connections without an
// IP address (a unix socket) are not checked.
type allowList struct {
	net.Listener
	nets      []net.IPNet
	subsystem string   // of the log line: agent.ipc, agent.http
	refused   []string // the counter's name
	logger    *log.Logger
	metrics   *metrics.Metrics
	labels    []metrics.Label
}

// allowListed wraps l in an allowList for the key's networks, with the
// agent's logger and metrics; with no networks it returns l itself. When
// a network does not parse, l is closed and the error names the key.
// subsystem is the listener's log subsystem and the counter's prefix:
// agent.ipc counts in agent.ipc.refused.
func (a *Agent) allowListed(l net.Listener, key string, cidrs []string, subsystem string) (net.Listener, error) {
	nets, err := parseCIDRs(key, cidrs)
	if err != nil {
		_ = l.Close()
		return nil, err
	}
	if len(nets) == 0 {
		return l, nil
	}
	return &allowList{
		Listener:  l,
		nets:      nets,
		subsystem: subsystem,
		refused:   append(strings.Split(subsystem, "."), "refused"),
		logger:    a.logger,
		metrics:   a.metrics,
		labels:    a.labels,
	}, nil
}

// Accept returns the next allowed connection, or the listener's error.
func (l *allowList) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.allowed(c.RemoteAddr()) {
			return c, nil
		}
		l.metrics.IncrCounterWithLabels(l.refused, 1, l.labels)
		l.logger.Printf("[DEBUG] %s: Refused connection from %v: not in the allowed networks", l.subsystem, c.RemoteAddr())
		_ = c.Close()
	}
}

// allowed reports whether addr may connect.
func (l *allowList) allowed(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return true
	}
	for _, n := range l.nets {
		if n.Contains(tcp.IP) {
			return true
		}
	}
	return false
}
