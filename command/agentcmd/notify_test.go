package agentcmd

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openserf/serf/client"
	"github.com/openserf/serf/internal/testutil/cluster"
	"github.com/openserf/serf/internal/testutil/oracle"
)

// notifySocket is a fake systemd notify socket, named by NOTIFY_SOCKET
// for the test; next returns its datagrams that are not STATUS= lines,
// in order.
func notifySocket(t *testing.T) (next func() string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "notify")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	t.Setenv("WATCHDOG_USEC", "")
	return func() string {
		t.Helper()
		buf := make([]byte, 4096)
		for {
			if err := conn.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
				t.Fatal(err)
			}
			n, _, err := conn.ReadFromUnix(buf)
			if err != nil {
				t.Fatalf("no datagram from the agent: %v", err)
			}
			if msg := string(buf[:n]); !strings.HasPrefix(msg, "STATUS=") {
				return msg
			}
		}
	}
}

// Under systemd, `serf agent -join` says READY=1 only once the join is
// done, then RELOADING=1 and READY=1 on SIGHUP, and STOPPING=1 as it
// leaves on SIGINT.
func TestAgentNotifiesSystemd(t *testing.T) {
	next := notifySocket(t)
	peer := cluster.Start(t, cluster.Config("peer"))
	ip := cluster.IP()
	rpcAddr := oracle.FreeAddr(t, ip)
	ui, signals, stop := runAgentCommand(t, "-node=sd", "-bind="+oracle.FreeAddr(t, ip),
		"-rpc-addr="+rpcAddr, "-profile=local", "-join="+peer.Addr())

	if got := next(); got != "READY=1" {
		t.Fatalf("first datagram = %q, want READY=1\n%s", got, ui.OutputWriter.String())
	}
	c, err := client.NewRPCClient(rpcAddr)
	if err != nil {
		t.Fatalf("NewRPCClient(%s) after READY=1: %v", rpcAddr, err)
	}
	members, err := c.Members()
	c.Close()
	if err != nil || len(members) != 2 {
		t.Fatalf("Members() after READY=1 = %v, %v, want the peer joined already", members, err)
	}

	signals <- syscall.SIGHUP
	if got := next(); !strings.HasPrefix(got, "RELOADING=1") {
		t.Fatalf("datagram after SIGHUP = %q, want RELOADING=1", got)
	}
	if got := next(); got != "READY=1" {
		t.Fatalf("datagram after RELOADING=1 = %q, want READY=1", got)
	}
	if code := stop(); code != 0 {
		t.Errorf("exit code after interrupt = %d, want 0", code)
	}
	if got := next(); got != "STOPPING=1" {
		t.Fatalf("datagram after SIGINT = %q, want STOPPING=1", got)
	}
}

// A start join that fails ends the agent before READY=1: systemd sees a
// failed start, not a service that came up.
func TestAgentFailedJoinIsNotReady(t *testing.T) {
	next := notifySocket(t)
	ip := cluster.IP()
	ui, _, stop := runAgentCommand(t, "-node=sd", "-bind="+oracle.FreeAddr(t, ip),
		"-rpc-addr="+oracle.FreeAddr(t, ip), "-profile=local", "-join="+oracle.FreeAddr(t, ip))
	if got := next(); got != "STOPPING=1" {
		t.Fatalf("first datagram = %q, want STOPPING=1 (and no READY=1)\n%s", got, ui.OutputWriter.String())
	}
	if code := stop(); code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
}
