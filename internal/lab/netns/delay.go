package netns

import (
	"errors"
	"fmt"
	"time"

	"github.com/openserf/serf/internal/lab/netem"
)

// delayer is one host's delay: the iptables rule (and the ip6tables one
// when the host has an IPv6 address) that queues the packets leaving
// eth1, and the NFQUEUE reader in this process that releases each
// one after the delay.
type delayer struct {
	queue  *netem.Queue
	num    uint16
	tables []string // the commands that hold the rules: iptables, ip6tables
}

// SetDelay holds every packet leaving the host's eth1 for delay, plus or
// minus jitter, before it goes out; a zero delay removes it. Set on every
// host, every one-way path between two hosts gets that delay. The kernel
// here has no netem qdisc, so the packets are queued to this process
// (iptables NFQUEUE) and released by internal/lab/netem; with --queue-bypass
// they flow undelayed if this process goes away.
func (h *Host) SetDelay(delay, jitter time.Duration) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.delays) > 0 {
		d := h.delays[0]
		if delay == 0 {
			h.delays = nil
			return d.stop(h)
		}
		d.queue.SetDelay(delay, jitter)
		return nil
	}
	if delay == 0 {
		return nil
	}
	num := uint16(h.Index)
	var q *netem.Queue
	err := netem.InNetns(h.NS, func() error {
		var err error
		q, err = netem.Start(netem.Config{Queue: num, Delay: delay, Jitter: jitter})
		return err
	})
	if err != nil {
		return fmt.Errorf("delay on %s: %w", h.Name, err)
	}
	d := &delayer{queue: q, num: num}
	tables := []string{"iptables"}
	if h.IP6 != "" {
		tables = append(tables, "ip6tables")
	}
	for _, tool := range tables {
		if _, err := h.Run(tool, d.rule("-A")...); err != nil {
			return errors.Join(err, d.stop(h))
		}
		d.tables = append(d.tables, tool)
	}
	h.delays = append(h.delays, d)
	return nil
}

func (d *delayer) rule(op string) []string {
	return []string{op, "OUTPUT", "-o", Iface, "-j", "NFQUEUE",
		"--queue-num", fmt.Sprint(d.num), "--queue-bypass"}
}

// stop removes the rules, then the reader.
func (d *delayer) stop(h *Host) error {
	var errs []error
	for _, tool := range d.tables {
		_, err := h.Run(tool, d.rule("-D")...)
		errs = append(errs, err)
	}
	return errors.Join(append(errs, d.queue.Close())...)
}

// stopDelays removes every delay of the host.
func (h *Host) stopDelays() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var errs []error
	for _, d := range h.delays {
		errs = append(errs, d.stop(h))
	}
	h.delays = nil
	return errors.Join(errs...)
}

// DelayStats describes the host's delay queue: packets seen, delayed,
// dropped; ok is false when the host has no delay.
func (h *Host) DelayStats() (stats string, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.delays) == 0 {
		return "", false
	}
	s := h.delays[0].queue.Stats()
	return fmt.Sprintf("seen=%d accepted=%d pending=%d overruns=%d errors=%d",
		s.Seen, s.Accepted, s.Pending, s.Overruns, s.Errors), true
}
