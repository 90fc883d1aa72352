package agent

import (
	"fmt"
	"maps"
	"net"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/openserf/serf/serf"
)

// The event coalescing the agent asks of Serf, as Serf's agent does:
// member and user events are held back until coalescePeriod has passed
// since the first, or quiescentPeriod without a new one.
const (
	coalescePeriod  = 3 * time.Second
	quiescentPeriod = time.Second
)

// gossipSetup is the Serf configuration an agent Config comes to, with
// what the banner shows of it.
type gossipSetup struct {
	serf      *serf.Config
	bind      *net.TCPAddr // the address gossip binds to, after -iface
	advertise *net.TCPAddr // nil when none is configured
}

// newGossipSetup turns the agent configuration into Serf's and
// memberlist's, as `serf agent` does: the bind address (taken from the
// interface with -iface), the advertise address, the key, the timing
// profile and the Serf settings. Beside it, it returns what Serf tells
// the user on the way (the address picked from the interface), which
// comes before the error when there is one. The errors are worded as
// Serf prints them.
func newGossipSetup(conf *Config) (*gossipSetup, []string, error) {
	var notices []string
	bindIP, bindPort, err := conf.AddrParts(conf.BindAddr)
	if err != nil {
		return nil, nil, fmt.Errorf("Invalid bind address: %w", err)
	}
	iface, _ := conf.NetworkInterface()
	if iface != nil {
		ip, notice, err := interfaceAddr(iface, conf.Interface, bindIP)
		if notice != "" {
			notices = append(notices, notice)
		}
		if err != nil {
			return nil, notices, err
		}
		bindIP = ip
	}

	g := &gossipSetup{bind: &net.TCPAddr{IP: net.ParseIP(bindIP), Port: bindPort}}
	var advertiseIP string
	var advertisePort int
	if conf.AdvertiseAddr != "" {
		if advertiseIP, advertisePort, err = conf.AddrParts(conf.AdvertiseAddr); err != nil {
			return nil, notices, fmt.Errorf("Invalid advertise address: %w", err)
		}
		g.advertise = &net.TCPAddr{IP: net.ParseIP(advertiseIP), Port: advertisePort}
	}
	key, err := conf.EncryptBytes()
	if err != nil {
		return nil, notices, fmt.Errorf("Invalid encryption key: %w", err)
	}
	ml, err := memberlistProfile(conf.Profile)
	if err != nil {
		return nil, notices, err
	}
	if err := applyTuning(conf, ml); err != nil {
		return nil, notices, err
	}
	if err := applyGossipGuards(conf, ml); err != nil {
		return nil, notices, err
	}
	if bindIP == "::" && advertiseIP == "" && bindPort != 0 {
		// memberlist looks for an address to announce only when bound to
		// 0.0.0.0; bound to "::" it would announce "::" itself. (With
		// port 0 the port is not known yet, and it is left to memberlist.)
		if addrs, err := net.InterfaceAddrs(); err == nil {
			if ip := announcedIPv6(addrs); ip != "" {
				advertiseIP, advertisePort = ip, bindPort
			}
		}
	}
	ml.BindAddr, ml.BindPort = bindIP, bindPort
	ml.AdvertiseAddr, ml.AdvertisePort = advertiseIP, advertisePort
	ml.SecretKey = key
	ml.EnableCompression = isTrue(conf.EnableCompression)

	sc := serf.DefaultConfig()
	sc.MemberlistConfig = ml
	sc.NodeName = conf.NodeName
	sc.Tags = maps.Clone(conf.Tags)
	sc.SnapshotPath = conf.SnapshotPath
	sc.ProtocolVersion = uint8(conf.Protocol)
	sc.CoalescePeriod, sc.QuiescentPeriod = coalescePeriod, quiescentPeriod
	sc.UserCoalescePeriod, sc.UserQuiescentPeriod = coalescePeriod, quiescentPeriod
	if conf.QueryResponseSizeLimit != nil {
		sc.QueryResponseSizeLimit = *conf.QueryResponseSizeLimit
	}
	if conf.QuerySizeLimit != nil {
		sc.QuerySizeLimit = *conf.QuerySizeLimit
	}
	if conf.UserEventSizeLimit != nil {
		sc.UserEventSizeLimit = *conf.UserEventSizeLimit
	}
	if d := conf.ReconnectInterval(); d > 0 {
		sc.ReconnectInterval = d
	}
	if d := conf.ReconnectTimeout(); d > 0 {
		sc.ReconnectTimeout = d
	}
	if d := conf.TombstoneTimeout(); d > 0 {
		sc.TombstoneTimeout = d
	}
	h, err := conf.heal()
	if err != nil {
		return nil, notices, err
	}
	h.apply(sc)
	sc.EnableNameConflictResolution = !isTrue(conf.DisableNameResolution)
	sc.RejoinAfterLeave = isTrue(conf.RejoinAfterLeave)
	sc.BroadcastTimeout = conf.BroadcastTimeout()
	g.serf = sc
	return g, notices, nil
}

// memberlistProfile is memberlist's configuration for a timing profile.
func memberlistProfile(name string) (*memberlist.Config, error) {
	switch name {
	case "lan":
		return memberlist.DefaultLANConfig(), nil
	case "wan":
		return memberlist.DefaultWANConfig(), nil
	case "local":
		return memberlist.DefaultLocalConfig(), nil
	}
	return nil, fmt.Errorf("Unknown profile: %s", name)
}

// interfaceAddr checks -iface against the bind IP. With a wildcard bind
// IP it picks an address of the interface that is not link-local (and
// returns the notice Serf prints about it): with "::" the first IPv6
// one; with "0.0.0.0" the first IPv4 one, else the first IPv6 one, as on
// an IPv6-only interface Serf takes that. Otherwise the interface must
// have the bind IP. name is the interface as configured.
func interfaceAddr(iface *net.Interface, name, bindIP string) (ip, notice string, err error) {
	addrs, err := iface.Addrs()
	if err != nil {
		return "", "", fmt.Errorf("Failed to get interface addresses: %w", err)
	}
	return pickInterfaceAddr(addrs, name, bindIP)
}

// pickInterfaceAddr is interfaceAddr on the interface's addresses.
func pickInterfaceAddr(addrs []net.Addr, name, bindIP string) (ip, notice string, err error) {
	if len(addrs) == 0 {
		return "", "", fmt.Errorf("Interface '%s' has no addresses", name)
	}
	if bindIP != "0.0.0.0" && bindIP != "::" {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.String() == bindIP {
				return bindIP, "", nil
			}
		}
		return "", "", fmt.Errorf("Interface '%s' has no '%s' address", name, bindIP)
	}
	var v4, v6 net.IP
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok || n.IP.IsLinkLocalUnicast() {
			continue
		}
		switch {
		case n.IP.To4() != nil && v4 == nil:
			v4 = n.IP
		case n.IP.To4() == nil && v6 == nil:
			v6 = n.IP
		}
	}
	pick := v6
	if bindIP == "0.0.0.0" && v4 != nil {
		pick = v4
	}
	if pick == nil {
		return "", "", fmt.Errorf("Failed to find usable address for interface '%s'", name)
	}
	return pick.String(), fmt.Sprintf("Using interface '%s' address '%s'", name, pick), nil
}

// announcedIPv6 picks the address to announce when gossip is bound to
// "::" with no advertise address: the first unique local (fc00::/7)
// address, else the first global one; "" when there is neither.
func announcedIPv6(addrs []net.Addr) string {
	var global net.IP
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok || n.IP.To4() != nil || !n.IP.IsGlobalUnicast() {
			continue
		}
		if n.IP.IsPrivate() {
			return n.IP.String()
		}
		if global == nil {
			global = n.IP
		}
	}
	if global == nil {
		return ""
	}
	return global.String()
}
