package agent

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/cluster"
	"github.com/openserf/serf/internal/testutil/dnstest"
	"github.com/openserf/serf/internal/testutil/oracle"
	"github.com/openserf/serf/internal/testutil/wait"
	"github.com/openserf/serf/serf"
)

// srvName is the SRV name the tests' zones give their agents under.
const srvName = "_serf._tcp.serf.test."

// target starts an agent to be joined and returns its gossip address.
func target(t *testing.T, name string) (*Agent, *net.TCPAddr) {
	t.Helper()
	a, _ := startAgent(t, cluster.Config(name))
	m := a.Serf().LocalMember()
	return a, &net.TCPAddr{IP: m.Addr, Port: int(m.Port)}
}

// targetOnPort starts an agent to be joined on port of a fresh loopback
// address, trying a few addresses in case the port is taken on one.
func targetOnPort(t *testing.T, name string, port int) *net.TCPAddr {
	t.Helper()
	var lastErr error
	for range 5 {
		sc := cluster.Config(name)
		sc.MemberlistConfig.BindPort = port
		a, err := Create(sc, Options{}, &cluster.SafeBuffer{})
		if err != nil {
			t.Fatal(err)
		}
		if lastErr = a.Start(); lastErr != nil {
			continue // Start shut it down
		}
		t.Cleanup(func() { _ = a.Shutdown() })
		return &net.TCPAddr{IP: net.ParseIP(sc.MemberlistConfig.BindAddr), Port: port}
	}
	t.Fatalf("no loopback address with port %d free: %v", port, lastErr)
	return nil
}

// srvRecord is a zone line for an SRV record of srvName pointing at host.
func srvRecord(host string, port int) string {
	return fmt.Sprintf("%s 0 IN SRV 1 1 %d %s", srvName, port, host)
}

// aRecord is a zone line for an A record.
func aRecord(host string, ip net.IP) string {
	return fmt.Sprintf("%s 0 IN A %s", host, ip)
}

// joinerAgent starts an agent whose SRV lookups go to dns and whose
// memberlist resolves names with dns too.
func joinerAgent(t *testing.T, name string, dns *dnstest.Server) (*Agent, *cluster.SafeBuffer) {
	t.Helper()
	sc := cluster.Config(name)
	sc.MemberlistConfig.DNSConfigPath = dns.ResolvConf(t)
	return startAgentWith(t, sc, Options{Resolver: dns.Resolver()})
}

// Join looks an SRV name up at every call: a name that does not exist
// yet is a clear error, and once the zone names an agent, with its port,
// the next Join reaches it.
func TestJoinSRVResolvesAtEveryCall(t *testing.T) {
	dns := dnstest.Start(t, cluster.IP())
	_, addr := target(t, "srv-target")
	j, logs := joinerAgent(t, "srv-joiner", dns)

	n, err := j.Join([]string{"dns+srv://" + srvName}, false)
	want := "failed to resolve dns+srv://" + srvName + ": lookup " + srvName
	if n != 0 || err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "no such host") {
		t.Fatalf("Join() before the zone has the name = %d, %v, want 0 and %q ... no such host", n, err, want)
	}
	if !strings.Contains(logs.String(), "[WARN] agent: "+err.Error()) {
		t.Errorf("log lacks the resolution failure %q", err)
	}

	dns.Set(t, srvRecord("t1.serf.test.", addr.Port), aRecord("t1.serf.test.", addr.IP))
	n, err = j.Join([]string{"dns+srv://" + srvName}, false)
	if n != 1 || err != nil {
		t.Fatalf("Join() once the zone names the target = %d, %v, want 1, nil", n, err)
	}
	if got := dns.Asked(srvName, "SRV"); got != 2 {
		t.Errorf("SRV questions = %d, want one a join", got)
	}
	wantLine := fmt.Sprintf("[DEBUG] agent: dns+srv://%s resolved to [%s]", srvName, addr)
	if !strings.Contains(logs.String(), wantLine) {
		t.Errorf("log lacks %q", wantLine)
	}
}

// Every SRV record is joined on its own port, and every address of each
// record's target; a plain name's every A record is joined too (by
// memberlist), on the port the address gives.
func TestJoinEveryRecord(t *testing.T) {
	dns := dnstest.Start(t, cluster.IP())
	_, a1 := target(t, "rec-1")
	a2 := targetOnPort(t, "rec-2", oracle.FreePort(t, cluster.IP()))
	a3 := targetOnPort(t, "rec-3", a2.Port)
	dns.Set(t,
		srvRecord("one.serf.test.", a1.Port), aRecord("one.serf.test.", a1.IP),
		srvRecord("pair.serf.test.", a2.Port), aRecord("pair.serf.test.", a2.IP), aRecord("pair.serf.test.", a3.IP))

	j, _ := joinerAgent(t, "rec-srv", dns)
	if n, err := j.Join([]string{"dns+srv://" + srvName}, false); n != 3 || err != nil {
		t.Errorf("Join(dns+srv://%s) = %d, %v, want 3 nodes", srvName, n, err)
	}

	plain, _ := joinerAgent(t, "rec-plain", dns)
	name := net.JoinHostPort("pair.serf.test", strconv.Itoa(a2.Port))
	if n, err := plain.Join([]string{name}, false); n != 2 || err != nil {
		t.Errorf("Join(%s) = %d, %v, want 2 nodes", name, n, err)
	}
}

// A plain name is resolved again at every join, by memberlist: the first
// answer points nowhere, the second at an agent.
func TestJoinNameResolvesAtEveryCall(t *testing.T) {
	dns := dnstest.Start(t, cluster.IP())
	_, addr := target(t, "name-target")
	j, _ := joinerAgent(t, "name-joiner", dns)
	name := net.JoinHostPort("seed.serf.test", strconv.Itoa(addr.Port))

	nowhere := net.ParseIP(cluster.IP()) // no agent listens there
	dns.Set(t, aRecord("seed.serf.test.", nowhere))
	if n, err := j.Join([]string{name}, false); n != 0 || err == nil {
		t.Fatalf("Join(%s) while it points nowhere = %d, %v, want an error", name, n, err)
	}
	dns.Set(t, aRecord("seed.serf.test.", addr.IP))
	if n, err := j.Join([]string{name}, false); n != 1 || err != nil {
		t.Fatalf("Join(%s) once it points at the target = %d, %v, want 1, nil", name, n, err)
	}
	if got := dns.Asked("seed.serf.test", "ANY"); got != 2 {
		t.Errorf("memberlist asked about the name %d times, want once a join", got)
	}
}

// SRV names that give no address are errors naming the address; beside an
// address that works they are logged and the join succeeds.
func TestJoinSRVErrors(t *testing.T) {
	dns := dnstest.Start(t, cluster.IP())
	_, addr := target(t, "err-target")
	dns.Set(t,
		"_none._tcp.serf.test. 0 IN SRV 0 0 0 .",
		"_bare._tcp.serf.test. 0 IN SRV 1 1 7946 bare.serf.test.",
		"bare.serf.test. 0 IN TXT \"no address\"",
		"other.serf.test. 0 IN TXT \"no SRV\"")
	j, logs := joinerAgent(t, "err-joiner", dns)

	tests := []struct {
		addr, err string
	}{
		{"dns+srv://", "failed to resolve dns+srv://: no SRV name after dns+srv://"},
		{"dns+srv://_none._tcp.serf.test", "failed to resolve dns+srv://_none._tcp.serf.test: no SRV records with a target"},
		{"dns+srv://_bare._tcp.serf.test", "failed to resolve dns+srv://_bare._tcp.serf.test: lookup bare.serf.test."},
		{"dns+srv://other.serf.test", "failed to resolve dns+srv://other.serf.test: lookup other.serf.test"},
	}
	for _, tc := range tests {
		n, err := j.Join([]string{tc.addr}, false)
		if n != 0 || err == nil || !strings.HasPrefix(err.Error(), tc.err) {
			t.Errorf("Join(%s) = %d, %v, want 0 and %q...", tc.addr, n, err, tc.err)
		}
	}

	n, err := j.Join([]string{"dns+srv://_none._tcp.serf.test", addr.String()}, false)
	if n != 1 || err != nil {
		t.Errorf("Join() of a bad SRV name and a good address = %d, %v, want 1, nil", n, err)
	}
	if want := "[WARN] agent: failed to resolve dns+srv://_none._tcp.serf.test: no SRV records with a target"; !strings.Contains(logs.String(), want) {
		t.Errorf("log lacks %q", want)
	}
}

// The retry join looks the SRV name up at every attempt and joins once
// the zone has it.
func TestRetryJoinSRV(t *testing.T) {
	dns := dnstest.Start(t, cluster.IP())
	_, addr := target(t, "rj-target")
	conf := daemonConfig(t, "rj-srv", func(c *Config) {
		c.RetryJoin = []string{"dns+srv://" + srvName}
		c.RetryIntervalRaw = "1s"
	})
	a, logs := startDaemon(t, conf, func(a *Agent) { a.opts.Resolver = dns.Resolver() })
	a.StartRetryJoin()
	wait.For(t, 30*time.Second, func() error {
		if !strings.Contains(logs.String(), "[WARN] agent: Join failed: failed to resolve dns+srv://"+srvName) {
			return fmt.Errorf("no failed attempt yet")
		}
		return nil
	})

	dns.Set(t, srvRecord("t.serf.test.", addr.Port), "t.serf.test. 0 IN A "+addr.IP.String())
	wait.For(t, 30*time.Second, func() error {
		if n := a.Serf().NumNodes(); n != 2 {
			return fmt.Errorf("NumNodes() = %d, want 2", n)
		}
		return nil
	})
	if got := dns.Asked(srvName, "SRV"); got < 2 {
		t.Errorf("SRV questions = %d, want one an attempt, at least 2", got)
	}
	if m, ok := memberByName(a.Serf(), "rj-target"); !ok || m.Status != serf.StatusAlive {
		t.Errorf("rj-target = %+v, want alive", m)
	}
}

// memberByName finds a member of s.
func memberByName(s *serf.Serf, name string) (serf.Member, bool) {
	for _, m := range s.Members() {
		if m.Name == name {
			return m, true
		}
	}
	return serf.Member{}, false
}
