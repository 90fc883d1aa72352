package serf_test

import (
	"fmt"
	"io"
	"log"
	"net"
	"sort"
	"strconv"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/openserf/serf/serf"
)

// exampleConfig is a node on 127.0.0.1 with a port the kernel picks and
// quiet logs, as a test or a small tool would start one.
func exampleConfig(name string) *serf.Config {
	conf := serf.DefaultConfig()
	conf.NodeName = name
	conf.Logger = log.New(io.Discard, "", 0)
	conf.MemberlistConfig = memberlist.DefaultLocalConfig()
	conf.MemberlistConfig.BindAddr = "127.0.0.1"
	conf.MemberlistConfig.BindPort = 0
	conf.MemberlistConfig.LogOutput = io.Discard
	return conf
}

// Two nodes form a cluster: the second joins the first at the port
// Create wrote back into the first's config, and events arrive on
// EventCh.
func Example() {
	conf1 := exampleConfig("web-1")
	conf1.Tags = map[string]string{"role": "web"}
	events := make(chan serf.Event, 64)
	conf1.EventCh = events
	s1, err := serf.Create(conf1)
	if err != nil {
		log.Fatal(err)
	}
	defer s1.Shutdown()

	s2, err := serf.Create(exampleConfig("db-1"))
	if err != nil {
		log.Fatal(err)
	}
	defer s2.Shutdown()

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(conf1.MemberlistConfig.BindPort))
	if _, err := s2.Join([]string{addr}, true); err != nil {
		log.Fatal(err)
	}

	// web-1 learns of db-1 by a member-join event.
	for e := range events {
		if me, ok := e.(serf.MemberEvent); ok && me.Type == serf.EventMemberJoin && me.Members[0].Name == "db-1" {
			break
		}
	}
	var names []string
	for _, m := range s1.Members() {
		names = append(names, m.Name+" "+m.Status.String())
	}
	sort.Strings(names)
	fmt.Println(names)

	// A graceful leave: web-1 sees db-1 as left, not failed.
	if err := s2.Leave(); err != nil {
		log.Fatal(err)
	}
	for e := range events {
		if me, ok := e.(serf.MemberEvent); ok && me.Type == serf.EventMemberLeave {
			fmt.Println(me.Type, me.Members[0].Name)
			break
		}
	}
	// Output:
	// [db-1 alive web-1 alive]
	// member-leave db-1
}

// A query asks every node (or those its filters select) and collects
// their answers; a node answers a *Query from its event channel.
func ExampleSerf_Query() {
	conf := exampleConfig("solo")
	events := make(chan serf.Event, 64)
	conf.EventCh = events
	s, err := serf.Create(conf)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Shutdown()

	// The responder answers "uptime" queries until the example ends.
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case e := <-events:
				if q, ok := e.(*serf.Query); ok && q.Name == "uptime" {
					q.Respond([]byte("up 3 days"))
				}
			case <-stop:
				return
			}
		}
	}()
	defer func() {
		close(stop)
		<-stopped
	}()

	params := s.DefaultQueryParams()
	params.Timeout = 2 * time.Second
	resp, err := s.Query("uptime", nil, params)
	if err != nil {
		log.Fatal(err)
	}
	for r := range resp.ResponseCh() {
		fmt.Printf("%s: %s\n", r.From, r.Payload)
	}
	// Output:
	// solo: up 3 days
}
