// Package netns builds throwaway networks of hosts for tests out of Linux
// network namespaces: one namespace per host, each with its own loopback
// and one interface, eth1, plugged into a bridge that lives in a namespace
// of its own. Nothing is created in the machine's own network namespace,
// so no test traffic can leave the machine.
//
// A Lab owns everything it creates and removes it on Close. The failure
// injections are the ones measured to work on a kernel without netem (see
// docs/testing.md): pulling a host's cable, isolating it with nftables,
// splitting the bridge in two, random loss with nftables, and delay with
// an NFQUEUE program running inside the test process (internal/lab/netem).
//
// Everything here needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN), iproute2
// and nftables; delay needs iptables too.
package netns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/openserf/serf/internal/testutil/wait"
)

// Subnet is the /24 the hosts' addresses come from. It exists only inside
// the lab's namespaces.
const Subnet = "10.99.0"

// Subnet6 is the /64 (unique local) the hosts' IPv6 addresses come
// from, when the lab gives them any: host 1 is fd00:99::11, as it is
// 10.99.0.11 in IPv4.
const Subnet6 = "fd00:99::"

// Stack is the IP versions the hosts' eth1 gets addresses of. Loopback
// has 127.0.0.1 and ::1 in every host, and eth1 always has its IPv6
// link-local address.
type Stack int

// The stacks a Lab can give its hosts.
const (
	// IPv4Only: an address in Subnet, the default.
	IPv4Only Stack = iota
	// DualStack: one address in Subnet and one in Subnet6.
	DualStack
	// IPv6Only: an address in Subnet6 and no IPv4 address.
	IPv6Only
)

// Iface is the name of every host's interface, as on the hosts of the
// articles this project started from (serf agent -iface=eth1).
const Iface = "eth1"

// The two bridges in the switch namespace: every port starts on
// mainBridge; Split moves some to sideBridge.
const (
	mainBridge = "br0"
	sideBridge = "br1"
)

// commandTimeout bounds every ip/nft/iptables command; under load they
// take seconds, never minutes.
const commandTimeout = time.Minute

// Lab is a set of hosts on one switch.
type Lab struct {
	prefix string
	sw     string // the switch namespace
	stack  Stack

	mu     sync.Mutex
	hosts  []*Host
	closed bool
}

// Host is one machine of a Lab: a network namespace with loopback and
// eth1 at IP.
type Host struct {
	lab *Lab

	// Index numbers hosts from 1 in the order they were added.
	Index int
	// Name is the host's name: the hostname its agents see.
	Name string
	// NS is the network namespace, for "ip netns exec".
	NS string
	// IP is the IPv4 address of eth1, in Subnet; "" with IPv6Only.
	IP string
	// IP6 is the IPv6 address of eth1, in Subnet6; "" with IPv4Only.
	IP6 string

	port string // the bridge-side end of the veth, in the switch namespace

	mu     sync.Mutex
	delays []*delayer
}

// Check reports why a Lab cannot be built here, or nil when it can.
func Check() error {
	if os.Geteuid() != 0 {
		return errors.New("network namespaces need root")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found on PATH (Debian: apt-get install iproute2 nftables)", tool)
		}
	}
	return nil
}

// New builds an empty lab: the switch namespace with its bridges. prefix
// starts the name of every namespace and interface the lab creates; keep
// it short (interface names have at most 15 bytes) and unique among
// labs that may run at the same time. Stale namespaces left with the same
// prefix by an earlier, killed run are removed first.
func New(prefix string) (*Lab, error) {
	return NewStack(prefix, IPv4Only)
}

// NewStack is New for a lab whose hosts get the addresses of stack.
func NewStack(prefix string, stack Stack) (*Lab, error) {
	if err := Check(); err != nil {
		return nil, err
	}
	if len(prefix) > 8 {
		return nil, fmt.Errorf("netns: prefix %q is longer than 8 bytes", prefix)
	}
	l := &Lab{prefix: prefix, sw: prefix + "sw", stack: stack}
	RemoveStale(prefix)
	steps := [][]string{
		{"ip", "netns", "add", l.sw},
		{"ip", "-n", l.sw, "link", "set", "lo", "up"},
	}
	for _, br := range []string{mainBridge, sideBridge} {
		steps = append(steps,
			[]string{"ip", "-n", l.sw, "link", "add", br, "type", "bridge",
				"stp_state", "0", "forward_delay", "0", "mcast_snooping", "0"},
			[]string{"ip", "-n", l.sw, "link", "set", br, "up"})
	}
	if err := runAll(steps); err != nil {
		_ = l.Close()
		return nil, err
	}
	return l, nil
}

// RemoveStale deletes every namespace whose name starts with prefix: the
// leftovers of a run that was killed before it could clean up.
func RemoveStale(prefix string) {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		if name != "" && strings.HasPrefix(name, prefix) {
			killNamespace(name)
			_ = run("ip", "netns", "del", name)
		}
	}
}

// killNamespace kills every process running in namespace ns, so that
// deleting it really frees it.
func killNamespace(ns string) {
	out, err := exec.Command("ip", "netns", "pids", ns).Output()
	if err != nil {
		return
	}
	for _, f := range strings.Fields(string(out)) {
		var pid int
		if _, err := fmt.Sscan(f, &pid); err == nil && pid > 1 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// AddHost adds a host called name (its hostname; "" gives h<index>) with
// the next address of Subnet: host 1 is 10.99.0.11, host 2 10.99.0.12,
// ...; and of Subnet6, fd00:99::11, fd00:99::12, ..., as the lab's Stack
// says.
func (l *Lab) AddHost(name string) (*Host, error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, errors.New("netns: lab is closed")
	}
	index := len(l.hosts) + 1
	if index > 200 {
		l.mu.Unlock()
		return nil, errors.New("netns: at most 200 hosts")
	}
	if name == "" {
		name = fmt.Sprintf("h%d", index)
	}
	h := &Host{
		lab:   l,
		Index: index,
		Name:  name,
		NS:    fmt.Sprintf("%sh%d", l.prefix, index),
		IP:    fmt.Sprintf("%s.%d", Subnet, 10+index),
		port:  fmt.Sprintf("%sp%d", l.prefix, index),
	}
	if l.stack == IPv6Only {
		h.IP = ""
	}
	if l.stack != IPv4Only {
		h.IP6 = fmt.Sprintf("%s%d", Subnet6, 10+index)
	}
	l.hosts = append(l.hosts, h)
	l.mu.Unlock()

	steps := [][]string{
		{"ip", "netns", "add", h.NS},
		// Duplicate address detection would keep the IPv6 link-local
		// address tentative for a while; mDNS's first poll then fails.
		{"ip", "netns", "exec", h.NS, "sysctl", "-qw",
			"net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"},
		{"ip", "-n", h.NS, "link", "set", "lo", "up"},
		// Both ends are born in their namespaces: nothing ever exists in
		// the machine's own.
		{"ip", "link", "add", Iface, "netns", h.NS, "type", "veth", "peer", "name", h.port, "netns", l.sw},
		{"ip", "-n", l.sw, "link", "set", h.port, "master", mainBridge, "up"},
	}
	if h.IP != "" {
		steps = append(steps, []string{"ip", "-n", h.NS, "addr", "add", h.IP + "/24", "dev", Iface})
	}
	if h.IP6 != "" {
		steps = append(steps, []string{"ip", "-n", h.NS, "addr", "add", h.IP6 + "/64", "dev", Iface, "nodad"})
	}
	steps = append(steps, []string{"ip", "-n", h.NS, "link", "set", Iface, "up"})
	if h.IP != "" {
		// Without a multicast route the IPv4 mDNS socket cannot be opened.
		steps = append(steps, []string{"ip", "-n", h.NS, "route", "add", "224.0.0.0/4", "dev", Iface})
	}
	if err := runAll(steps); err != nil {
		return nil, fmt.Errorf("add host %s: %w", name, err)
	}
	// Until the link is up the first ARP request can be lost, which
	// costs a first probe a whole second.
	err := wait.Until(10*time.Second, func() error {
		out, err := exec.Command("ip", "-n", h.NS, "-o", "link", "show", Iface).Output()
		if err == nil && !strings.Contains(string(out), "state UP") {
			err = fmt.Errorf("%s not up: %s", Iface, out)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("add host %s: %w", name, err)
	}
	return h, nil
}

// Hosts returns the hosts in the order they were added.
func (l *Lab) Hosts() []*Host {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*Host(nil), l.hosts...)
}

// Close stops every delay, kills whatever still runs in the lab's
// namespaces and deletes them. It is safe to call more than once.
func (l *Lab) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	hosts := l.hosts
	l.mu.Unlock()

	var errs []error
	for _, h := range hosts {
		errs = append(errs, h.stopDelays())
		killNamespace(h.NS)
		if err := run("ip", "netns", "del", h.NS); err != nil && !notFound(err) {
			errs = append(errs, err)
		}
	}
	killNamespace(l.sw)
	if err := run("ip", "netns", "del", l.sw); err != nil && !notFound(err) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Split moves the given hosts onto a second bridge: they still reach one
// another, but not the hosts left on the first. Merge undoes it.
func (l *Lab) Split(group ...*Host) error {
	for _, h := range group {
		if err := run("ip", "-n", l.sw, "link", "set", h.port, "master", sideBridge); err != nil {
			return err
		}
	}
	return nil
}

// Merge puts every host back on the first bridge.
func (l *Lab) Merge() error {
	for _, h := range l.Hosts() {
		if err := run("ip", "-n", l.sw, "link", "set", h.port, "master", mainBridge); err != nil {
			return err
		}
	}
	return nil
}

// Command returns a command that runs name with args inside the host's
// network namespace. "ip netns exec" execs in place, so the process's PID
// is the command's own.
func (h *Host) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", h.NS, name}, args...)...)
}

// CommandContext is Command with a context that kills it.
func (h *Host) CommandContext(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.NS, name}, args...)...)
}

// HostCommand is Command for a program that should see the host's own
// name as its hostname (serf agent names its node after it): it runs in a
// new UTS namespace whose hostname is h.Name. The process is also the
// leader of a new process group, so its children can be killed with it.
func (h *Host) HostCommand(name string, args ...string) *exec.Cmd {
	script := `hostname "$0" && exec "$@"`
	cmd := exec.Command("ip", append([]string{"netns", "exec", h.NS, "sh", "-c", script, h.Name, name}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUTS, Setpgid: true}
	return cmd
}

// Run runs name with args inside the host's namespace and returns its
// standard output; a failure's error includes standard error.
func (h *Host) Run(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := h.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s on %s: %w: %s", name, strings.Join(args, " "), h.Name,
			err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// Unplug sets the bridge-side end of the host's cable down: nothing goes
// in or out, and the host's own interface, addresses and routes stay as
// they are (setting eth1 itself down would flush the multicast route).
func (h *Host) Unplug() error {
	return run("ip", "-n", h.lab.sw, "link", "set", h.port, "down")
}

// Plug undoes Unplug.
func (h *Host) Plug() error {
	return run("ip", "-n", h.lab.sw, "link", "set", h.port, "up")
}

// The injections below are nftables rules in the switch namespace, on
// the frames the bridge forwards to and from the host's port, as a faulty
// switch or cable would behave: the host's own stack is untouched, and a
// dropped packet vanishes silently (a rule in the host's own output path
// would make every send fail with EPERM instead, which no real network
// does). Isolation and loss match the port, so they cover IPv4 and IPv6
// alike; Block matches addresses of both versions. Each kind has its own
// table per host, so that each can be added and removed on its own.
const (
	kindIsolate = "isolate"
	kindBlock   = "block"
	kindLoss    = "loss"
)

// table names the nftables table of one kind of injection for the host.
func (h *Host) table(kind string) string {
	return fmt.Sprintf("serf_%s_%d", kind, h.Index)
}

// Isolate drops every frame to and from the host at the switch. The
// host's loopback, hence its agent's RPC, keeps working, and so does its
// interface: unlike Unplug, the link stays up.
func (h *Host) Isolate() error {
	return h.nft(kindIsolate, fmt.Sprintf(
		`chain faults { type filter hook forward priority -10; iifname %[1]q drop; oifname %[1]q drop; }`, h.port))
}

// Heal undoes Isolate and Block.
func (h *Host) Heal() error {
	return errors.Join(h.deleteTable(kindIsolate), h.deleteTable(kindBlock))
}

// Block drops everything between the host and the given peers, in both
// directions and over both IPv4 and IPv6, while both keep talking to
// everyone else.
func (h *Host) Block(peers ...*Host) error {
	var v4, v6 []string
	for _, p := range peers {
		if p.IP != "" {
			v4 = append(v4, p.IP)
		}
		if p.IP6 != "" {
			v6 = append(v6, p.IP6)
		}
	}
	var rules []string
	for _, f := range []struct {
		family, self string
		peers        []string
	}{{"ip", h.IP, v4}, {"ip6", h.IP6, v6}} {
		if f.self == "" || len(f.peers) == 0 {
			continue
		}
		rules = append(rules, fmt.Sprintf("%[1]s saddr %[2]s %[1]s daddr { %[3]s } drop; "+
			"%[1]s daddr %[2]s %[1]s saddr { %[3]s } drop;", f.family, f.self, strings.Join(f.peers, ", ")))
	}
	if len(rules) == 0 {
		return fmt.Errorf("netns: %s shares no IP version with the peers to block", h.Name)
	}
	return h.nft(kindBlock, fmt.Sprintf("chain faults { type filter hook forward priority -10;\n\t\t%s }",
		strings.Join(rules, "\n\t\t")))
}

// SetLoss drops each frame the host sends with probability percent/100;
// percent 0 removes the loss. Set on every host, every one-way path
// between two hosts loses that share of its packets.
func (h *Host) SetLoss(percent int) error {
	if percent < 0 || percent > 100 {
		return fmt.Errorf("netns: loss %d%% out of range", percent)
	}
	if percent == 0 {
		return h.deleteTable(kindLoss)
	}
	match := fmt.Sprintf("numgen random mod 100 < %d", percent)
	if percent == 100 {
		match = "" // numgen's range ends at 99
	}
	return h.nft(kindLoss, fmt.Sprintf(
		`chain faults { type filter hook forward priority -20; iifname %q %s drop; }`, h.port, match))
}

// nft replaces the host's table of one kind with one holding chains.
func (h *Host) nft(kind, chains string) error {
	if err := h.deleteTable(kind); err != nil {
		return err
	}
	rules := fmt.Sprintf("table bridge %s {\n\t%s\n}\n", h.table(kind), chains)
	cmd := exec.Command("ip", "netns", "exec", h.lab.sw, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nft for %s: %w: %s", h.Name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// deleteTable removes the host's table of one kind if it exists.
func (h *Host) deleteTable(kind string) error {
	// Adding an existing table is a no-op, so the delete always has
	// something to delete.
	t := h.table(kind)
	return run("ip", "netns", "exec", h.lab.sw, "nft", "add table bridge "+t+"; delete table bridge "+t)
}

// run runs one command in the machine's namespace context (ip -n ...).
func run(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func runAll(steps [][]string) error {
	for _, s := range steps {
		if err := run(s...); err != nil {
			return err
		}
	}
	return nil
}

func notFound(err error) bool {
	s := err.Error()
	return strings.Contains(s, "No such file") || strings.Contains(s, "not found")
}
