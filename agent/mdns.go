package agent

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/mdns"
)

// mDNS discovery timing, as in Serf: poll at once and then every minute;
// join what was found after 100ms without a new answer.
const (
	mdnsPollInterval  = 60 * time.Second
	mdnsQuietInterval = 100 * time.Millisecond
	mdnsQueryTimeout  = time.Second
)

// DiscoveryConfig is what NewDiscovery needs: the service to advertise,
// the network to use for it, and how to join what it finds.
type DiscoveryConfig struct {
	Logger *log.Logger

	// Node is advertised as the service instance, at IP and Port (the
	// node's gossip address), under Cluster's service name.
	Node    string
	Cluster string
	IP      net.IP
	Port    int

	// Interface is the multicast interface; nil is the system default.
	// DisableIPv4 and DisableIPv6 leave out one IP version when polling.
	Interface   *net.Interface
	DisableIPv4 bool
	DisableIPv6 bool

	// Join is called with the addresses found (the agent's Join); Replay
	// is passed on to it.
	Join   func(addrs []string, replay bool) (int, error)
	Replay bool
}

// mdnsService returns the service name a cluster is advertised under.
func mdnsService(cluster string) string {
	return fmt.Sprintf("_serf_%s._tcp", cluster)
}

// Discovery advertises this agent as `_serf_<cluster>._tcp` over mDNS and
// joins every new peer that answers a poll. Each address is joined once.
type Discovery struct {
	cfg    DiscoveryConfig
	server interface{ Shutdown() error } // the mDNS responder
	// query polls for peers, sending what it finds to the channel; it is
	// pollMDNS but in tests.
	query func(ctx context.Context, found chan<- *mdns.ServiceEntry)

	stopCh       chan struct{}
	shutdownOnce sync.Once
	wg           sync.WaitGroup
}

// NewDiscovery registers the mDNS service for the node and starts
// polling.
func NewDiscovery(cfg DiscoveryConfig) (*Discovery, error) {
	host, err := os.Hostname()
	if err != nil {
		return nil, err
	}
	svc, err := mdns.NewMDNSService(cfg.Node, mdnsService(cfg.Cluster), "", host+".", cfg.Port,
		[]net.IP{cfg.IP}, []string{fmt.Sprintf("Serf '%s' cluster", cfg.Cluster)})
	if err != nil {
		return nil, err
	}
	quiet := log.New(io.Discard, "", 0) // the library's own lines are noise
	server, err := mdns.NewServer(&mdns.Config{Zone: svc, Iface: cfg.Interface, Logger: quiet})
	if err != nil {
		return nil, err
	}
	d := &Discovery{cfg: cfg, server: server}
	d.query = d.pollMDNS
	d.start()
	return d, nil
}

// start starts the polling loop.
func (d *Discovery) start() {
	d.stopCh = make(chan struct{})
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.run()
	}()
}

// Shutdown stops advertising and polling and waits for the goroutines,
// a join under way included. It is idempotent, and safe to call from
// several goroutines: each call returns once they have all exited.
func (d *Discovery) Shutdown() {
	d.shutdownOnce.Do(func() {
		close(d.stopCh)
		_ = d.server.Shutdown()
		d.wg.Wait()
	})
}

func (d *Discovery) run() {
	found := make(chan *mdns.ServiceEntry, 32)
	seen := make(map[string]bool)
	var pending []string
	poll := time.NewTimer(0)
	defer poll.Stop()
	var quiet <-chan time.Time

	ctx, cancel := context.WithCancel(context.Background())
	var polls sync.WaitGroup
	defer func() {
		cancel()
		polls.Wait()
	}()

	for {
		select {
		case e := <-found:
			addr := (&net.TCPAddr{IP: e.Addr, Port: e.Port}).String()
			if e.Addr == nil || seen[addr] {
				continue
			}
			pending = append(pending, addr)
			quiet = time.After(mdnsQuietInterval)
		case <-quiet:
			quiet = nil
			n, err := d.cfg.Join(pending, d.cfg.Replay)
			if err != nil {
				d.cfg.Logger.Printf("[ERR] agent.mdns: Failed to join: %v", err)
			}
			if n > 0 {
				d.cfg.Logger.Printf("[INFO] agent.mdns: Joined %d hosts", n)
			}
			for _, a := range pending {
				seen[a] = true
			}
			pending = nil
		case <-poll.C:
			poll.Reset(mdnsPollInterval)
			polls.Add(1)
			go func() {
				defer polls.Done()
				d.query(ctx, found)
			}()
		case <-d.stopCh:
			return
		}
	}
}

// pollMDNS asks the network once for the cluster's service.
func (d *Discovery) pollMDNS(ctx context.Context, found chan<- *mdns.ServiceEntry) {
	params := &mdns.QueryParam{
		Service:     mdnsService(d.cfg.Cluster),
		Domain:      "local",
		Timeout:     mdnsQueryTimeout,
		Interface:   d.cfg.Interface,
		Entries:     found,
		DisableIPv4: d.cfg.DisableIPv4,
		DisableIPv6: d.cfg.DisableIPv6,
		Logger:      log.New(io.Discard, "", 0),
	}
	if err := mdns.QueryContext(ctx, params); err != nil {
		d.cfg.Logger.Printf("[ERR] agent.mdns: Failed to poll for new hosts: %v", err)
	}
}
