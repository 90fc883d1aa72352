// Package dnstest runs a DNS server inside a test: it answers, over UDP
// and TCP on one port, from a zone the test replaces whenever it likes,
// so that a test can change what a name resolves to between two joins.
// It counts the questions it is asked, and hands out a net.Resolver and
// a resolv.conf that use it.
//
// The server is authoritative for every name it is asked about: a name
// without records is NXDOMAIN, a name with records of other types only is
// an empty answer, and an ANY question (memberlist's TCP lookup) gets
// every record of the name. It is stopped, and its goroutines waited
// for, at the test's cleanup.
package dnstest

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Server is a running DNS server.
type Server struct {
	addr string // host:port of both listeners

	lock    sync.Mutex
	records map[string][]dns.RR // by lower-case fully qualified name; guarded by lock
	asked   map[string]int      // "name TYPE" -> questions; guarded by lock
}

// Start serves DNS on ip (a 127.0.0.x address in-process), UDP and TCP
// on one free port.
func Start(tb testing.TB, ip string) *Server {
	tb.Helper()
	var lastErr error
	for range 20 {
		pc, err := net.ListenPacket("udp", net.JoinHostPort(ip, "0"))
		if err != nil {
			tb.Fatalf("dnstest: listen udp on %s: %v", ip, err)
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err != nil {
			// The port is free for UDP but taken for TCP: try another.
			lastErr = err
			pc.Close()
			continue
		}
		return Serve(tb, pc, l)
	}
	tb.Fatalf("dnstest: no port free for both UDP and TCP on %s: %v", ip, lastErr)
	return nil
}

// Serve serves DNS on sockets the caller opened (in another network
// namespace, say), pc for UDP and l for TCP, which should share an
// address. It takes them over: they are closed at cleanup.
func Serve(tb testing.TB, pc net.PacketConn, l net.Listener) *Server {
	tb.Helper()
	s := &Server{
		addr:    pc.LocalAddr().String(),
		records: map[string][]dns.RR{},
		asked:   map[string]int{},
	}
	var wg sync.WaitGroup
	var servers []*dns.Server
	for _, srv := range []*dns.Server{
		{PacketConn: pc, Handler: dns.HandlerFunc(s.answer)},
		{Listener: l, Handler: dns.HandlerFunc(s.answer)},
	} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		errCh := make(chan error, 1)
		wg.Go(func() { errCh <- srv.ActivateAndServe() })
		select {
		case <-started:
			servers = append(servers, srv)
		case err := <-errCh:
			tb.Fatalf("dnstest: serve on %s: %v", s.addr, err)
		}
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, srv := range servers {
			if err := srv.ShutdownContext(ctx); err != nil {
				tb.Errorf("dnstest: shut down the server on %s: %v", s.addr, err)
			}
		}
		wg.Wait()
	})
	return s
}

// Addr is the server's host:port, for UDP and TCP alike.
func (s *Server) Addr() string { return s.addr }

// Set replaces the whole zone with records, each one line of zone-file
// text such as "h1.serf.test. 0 IN A 127.0.0.11" or "_serf._tcp.serf.test.
// 0 IN SRV 1 1 7946 h1.serf.test."; no records makes every name NXDOMAIN.
// Questions after Set returns get the new answers.
func (s *Server) Set(tb testing.TB, records ...string) {
	tb.Helper()
	zone := map[string][]dns.RR{}
	for _, text := range records {
		rr, err := dns.NewRR(text)
		if err != nil || rr == nil {
			tb.Fatalf("dnstest: record %q: %v", text, err)
		}
		name := strings.ToLower(rr.Header().Name)
		zone[name] = append(zone[name], rr)
	}
	s.lock.Lock()
	s.records = zone
	s.lock.Unlock()
}

// Asked is how many questions for name (with or without the final dot)
// of type qtype ("SRV", "A", "AAAA", "ANY") the server has answered.
func (s *Server) Asked(name, qtype string) int {
	s.lock.Lock()
	defer s.lock.Unlock()
	return s.asked[strings.ToLower(dns.Fqdn(name))+" "+qtype]
}

// answer is the handler of both listeners.
func (s *Server) answer(w dns.ResponseWriter, req *dns.Msg) {
	resp := new(dns.Msg)
	resp.SetReply(req)
	resp.Authoritative = true
	if len(req.Question) != 1 {
		resp.Rcode = dns.RcodeFormatError
		_ = w.WriteMsg(resp)
		return
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	s.lock.Lock()
	s.asked[name+" "+dns.TypeToString[q.Qtype]]++
	rrs, ok := s.records[name]
	for _, rr := range rrs {
		if q.Qtype == dns.TypeANY || rr.Header().Rrtype == q.Qtype {
			resp.Answer = append(resp.Answer, dns.Copy(rr))
		}
	}
	s.lock.Unlock()
	if !ok {
		resp.Rcode = dns.RcodeNameError
	}
	_ = w.WriteMsg(resp)
}

// Resolver is a pure-Go resolver that sends every question to the server,
// over UDP (and TCP when an answer is truncated), whatever the system's
// configuration says.
func (s *Server) Resolver() *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, s.addr)
		},
	}
}

// ResolvConf writes a resolv.conf naming the server (host:port, which
// memberlist's TCP lookup accepts, set as its DNSConfigPath) into a
// temporary directory and returns its path.
func (s *Server) ResolvConf(tb testing.TB) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "resolv.conf")
	if err := os.WriteFile(path, []byte("nameserver "+s.addr+"\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}
