package agent

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
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

// MDNSConfig selects the interface and IP versions used for discovery.
type MDNSConfig struct {
	Interface   *net.Interface // nil: the system default
	DisableIPv4 bool
	DisableIPv6 bool
}

// mdnsService returns the service name a cluster is advertised under.
func mdnsService(cluster string) string {
	return fmt.Sprintf("_serf_%s._tcp", cluster)
}

// Discovery advertises this agent as `_serf_<cluster>._tcp` over mDNS and
// joins every new peer that answers a poll. Each address is joined once.
type Discovery struct {
	logger  *log.Logger
	cluster string
	cfg     MDNSConfig
	replay  bool
	join    func(addrs []string, replay bool) (int, error)
	server  *mdns.Server

	stopCh chan struct{}
	wg     sync.WaitGroup
}

// NewDiscovery registers the mDNS service for node at ip:port and starts
// polling. join is the agent's Join.
func NewDiscovery(logger *log.Logger, node, cluster string, ip net.IP, port int, cfg MDNSConfig, replay bool,
	join func([]string, bool) (int, error)) (*Discovery, error) {
	host, err := hostname()
	if err != nil {
		return nil, err
	}
	svc, err := mdns.NewMDNSService(node, mdnsService(cluster), "", host+".", port,
		[]net.IP{ip}, []string{fmt.Sprintf("Serf '%s' cluster", cluster)})
	if err != nil {
		return nil, err
	}
	quiet := log.New(io.Discard, "", 0) // the library's own lines are noise
	server, err := mdns.NewServer(&mdns.Config{Zone: svc, Iface: cfg.Interface, Logger: quiet})
	if err != nil {
		return nil, err
	}
	d := &Discovery{
		logger:  logger,
		cluster: cluster,
		cfg:     cfg,
		replay:  replay,
		join:    join,
		server:  server,
		stopCh:  make(chan struct{}),
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.run()
	}()
	return d, nil
}

// Shutdown stops advertising and polling and waits for the goroutines.
func (d *Discovery) Shutdown() {
	select {
	case <-d.stopCh:
		return
	default:
	}
	close(d.stopCh)
	_ = d.server.Shutdown()
	d.wg.Wait()
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
			n, err := d.join(pending, d.replay)
			if err != nil {
				d.logger.Printf("[ERR] agent.mdns: Failed to join: %v", err)
			}
			if n > 0 {
				d.logger.Printf("[INFO] agent.mdns: Joined %d hosts", n)
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
				d.poll(ctx, found)
			}()
		case <-d.stopCh:
			return
		}
	}
}

func (d *Discovery) poll(ctx context.Context, found chan<- *mdns.ServiceEntry) {
	params := &mdns.QueryParam{
		Service:     mdnsService(d.cluster),
		Domain:      "local",
		Timeout:     mdnsQueryTimeout,
		Interface:   d.cfg.Interface,
		Entries:     found,
		DisableIPv4: d.cfg.DisableIPv4,
		DisableIPv6: d.cfg.DisableIPv6,
		Logger:      log.New(io.Discard, "", 0),
	}
	if err := mdns.QueryContext(ctx, params); err != nil {
		d.logger.Printf("[ERR] agent.mdns: Failed to poll for new hosts: %v", err)
	}
}
