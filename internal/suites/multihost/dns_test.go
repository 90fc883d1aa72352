package multihost

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openserf/serf/internal/lab/netem"
	"github.com/openserf/serf/internal/lab/netns"
	"github.com/openserf/serf/internal/testutil/dnstest"
	"github.com/openserf/serf/internal/testutil/wait"
)

// TestDNSJoin: agents that know only an SRV name find the seed through
// DNS, on the port its record gives. Host 1 is the name server (the test
// process serves on its 10.99.0.11:53) and every host's resolver asks it.
// The name does not exist when the first agent starts, so its retry join
// fails until the zone names the seed; a second agent, whose retry_join
// names nothing, gets the SRV name from its config file on SIGHUP and
// joins; a fourth joins with -join and the name; `serf join` with the
// name works too.
func TestDNSJoin(t *testing.T) {
	requireLab(t)
	c := NewCluster(t, "dj", 5, ourBin)
	dns := serveDNS(t, c.Host(1))
	useNameServer(t, c.Host(1).IP)
	const name = "dns+srv://_serf._tcp.lab.test"

	joiner := c.Start(c.Host(3), ourBin, "-iface=eth1", "-log-level=debug",
		"-retry-join="+name, "-retry-interval=1s")
	wait.Every(t, 30*time.Second, PollInterval, func() error {
		if want := "[WARN] agent: failed to resolve " + name + ": "; !contains(joiner.Log(), want) {
			return fmt.Errorf("%s: no failed lookup yet (%q)", joiner.Host.Name, want)
		}
		return nil
	})

	// The seed listens on another port than the others: only the SRV
	// record says which.
	seedAddr := c.Host(2).IP + ":7950"
	seed := c.Start(c.Host(2), ourBin, "-bind="+seedAddr)
	WaitRPC(t, seed)
	dns.Set(t,
		"_serf._tcp.lab.test. 5 IN SRV 10 1 7950 seed.lab.test.",
		"seed.lab.test. 5 IN A "+c.Host(2).IP)
	took := Converged(t, 30*time.Second, []*Agent{seed, joiner})
	figure(t, "retry_join_after_zone_change", took.Round(time.Millisecond))
	if want := "[DEBUG] agent: " + name + " resolved to [" + seedAddr + "]"; !contains(joiner.Log(), want) {
		t.Errorf("%s: log lacks %q", joiner.Host.Name, want)
	}

	// retry_join from a file, changed and reloaded.
	conf := filepath.Join(t.TempDir(), "join.json")
	writeFile(t, conf, `{"retry_interval": "1s"}`)
	late := c.Start(c.Host(4), ourBin, "-iface=eth1", "-config-file="+conf)
	WaitRPC(t, late)
	writeFile(t, conf, `{"retry_interval": "1s", "retry_join": ["`+name+`"]}`)
	if err := late.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	Converged(t, 30*time.Second, []*Agent{seed, joiner, late})
	if want := "[INFO] agent: Reload changed the retry join settings; retrying the join with [\"" + name + "\"]"; !contains(late.Log(), want) {
		t.Errorf("%s: log lacks %q", late.Host.Name, want)
	}

	// A start join by the name, as -join.
	starter := c.Start(c.Host(5), ourBin, "-iface=eth1", "-join="+name)
	Converged(t, 30*time.Second, []*Agent{seed, joiner, late, starter})
	if want := "Join completed. Synced with 1 initial agents"; !contains(starter.Log(), want) {
		t.Errorf("%s: output lacks %q", starter.Host.Name, want)
	}

	out, err := joiner.CLI("join", name)
	if err != nil || !strings.Contains(out, "Successfully joined cluster by contacting 1 nodes.") {
		t.Errorf("serf join %s on %s = %q, %v, want one node contacted", name, joiner.Host.Name, out, err)
	}
	if n := dns.Asked("_serf._tcp.lab.test", "SRV"); n < 4 {
		t.Errorf("the name server was asked about the SRV name %d times, want at least one a join", n)
	}
}

// serveDNS serves DNS from this process on h's address, port 53, UDP and
// TCP: the sockets are opened inside h's network namespace.
func serveDNS(t *testing.T, h *netns.Host) *dnstest.Server {
	t.Helper()
	addr := net.JoinHostPort(h.IP, "53")
	var pc net.PacketConn
	var l net.Listener
	err := netem.InNetns(h.NS, func() error {
		var err error
		if pc, err = net.ListenPacket("udp", addr); err != nil {
			return err
		}
		if l, err = net.Listen("tcp", addr); err != nil {
			pc.Close()
		}
		return err
	})
	if err != nil {
		t.Fatalf("serve DNS on %s: %v", h.Name, err)
	}
	return dnstest.Serve(t, pc, l)
}

// useNameServer points every host's resolver at ip until the test ends:
// a resolv.conf naming it is bind-mounted over /etc/resolv.conf in the
// sandbox's own mount namespace, which every agent's inherits, so the
// machine's file is never touched.
func useNameServer(t *testing.T, ip string) {
	t.Helper()
	if !netns.InSandbox() {
		t.Fatal("the resolver can only be changed inside the sandbox")
	}
	conf := filepath.Join(t.TempDir(), "resolv.conf")
	writeFile(t, conf, "nameserver "+ip+"\noptions timeout:1 attempts:2\n")
	if out, err := exec.Command("mount", "--bind", conf, "/etc/resolv.conf").CombinedOutput(); err != nil {
		t.Fatalf("mount %s over /etc/resolv.conf: %v: %s", conf, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "/etc/resolv.conf").CombinedOutput(); err != nil {
			t.Errorf("umount /etc/resolv.conf: %v: %s", err, out)
		}
	})
}

// writeFile writes text to path.
func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
