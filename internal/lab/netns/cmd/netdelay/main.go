// Command netdelay delays (and optionally drops) the packets an iptables
// NFQUEUE rule hands it, in the network namespace it runs in, until it is
// interrupted. scripts/netlab.sh uses it for "delay"; the Go harness
// (internal/lab/netns) runs the same code in its own process instead.
//
//	ip netns exec <ns> iptables -A OUTPUT -o eth1 -j NFQUEUE --queue-num 1 --queue-bypass
//	ip netns exec <ns> netdelay -queue 1 -delay 50ms -jitter 5ms -loss 0
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/openserf/serf/internal/lab/netem"
)

func main() {
	var cfg netem.Config
	queue := flag.Uint("queue", 1, "NFQUEUE number to serve")
	flag.DurationVar(&cfg.Delay, "delay", 0, "delay added to every packet")
	flag.DurationVar(&cfg.Jitter, "jitter", 0, "random variation of the delay, plus or minus")
	flag.Float64Var(&cfg.Loss, "loss", 0, "probability (0-1) that a packet is dropped")
	flag.Parse()
	if *queue > 65535 {
		fmt.Fprintln(os.Stderr, "netdelay: -queue must be at most 65535")
		os.Exit(2)
	}
	cfg.Queue = uint16(*queue)
	q, err := netem.Start(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "netdelay:", err)
		os.Exit(1)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	s := q.Stats()
	if err := q.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "netdelay:", err)
	}
	fmt.Fprintf(os.Stderr, "netdelay: %d packets, %d accepted, %d dropped\n", s.Seen, s.Accepted, s.Dropped)
}
