package client_test

import (
	"fmt"
	"io"
	"log"
	"net"

	"github.com/hashicorp/memberlist"
	"github.com/openserf/serf/agent"
	"github.com/openserf/serf/client"
	"github.com/openserf/serf/serf"
)

// startAgent runs an agent in this process with its RPC server on a port
// the kernel picks, as `serf agent -rpc-addr=127.0.0.1:0` would; a real
// program connects to an agent that runs on its own.
func startAgent(name string) (addr string, stop func()) {
	conf := serf.DefaultConfig()
	conf.NodeName = name
	conf.Tags = map[string]string{"role": "web"}
	conf.MemberlistConfig = memberlist.DefaultLocalConfig()
	conf.MemberlistConfig.BindAddr = "127.0.0.1"
	conf.MemberlistConfig.BindPort = 0
	a, err := agent.Create(conf, agent.Options{}, io.Discard)
	if err != nil {
		log.Fatal(err)
	}
	if err := a.Start(); err != nil {
		log.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := agent.NewRPCServer(a, "", l, agent.NewLogRing(16), log.New(io.Discard, "", 0))
	return l.Addr().String(), func() {
		srv.Shutdown()
		_ = a.Shutdown()
		a.Wait()
	}
}

// A program asks a running agent for its members over the RPC protocol,
// as `serf members` does.
func Example() {
	addr, stop := startAgent("web-1")
	defer stop()

	c, err := client.NewRPCClient(addr)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	members, err := c.Members()
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range members {
		fmt.Println(m.Name, m.Status, m.Tags["role"])
	}

	// Tags change at run time; the agent gossips them to the cluster.
	if err := c.UpdateTags(map[string]string{"role": "db"}, nil); err != nil {
		log.Fatal(err)
	}
	members, _ = c.MembersFiltered(map[string]string{"role": "db"}, "alive", "")
	fmt.Println(len(members), "member with role=db")
	// Output:
	// web-1 alive web
	// 1 member with role=db
}
