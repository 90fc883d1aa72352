package systemd

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/syncbuf"
	"github.com/openserf/serf/internal/testutil/wait"
)

// peerNode is the peer agent's node name; peerRPC its RPC address, on the
// loopback of its own namespace.
const (
	peerNode = "peer"
	peerRPC  = "127.0.0.1:7373"
)

// peer is a serf agent outside the container, at the other end of its
// veth pair: the cluster the container's agent joins, and the witness of
// how the others see it.
type peer struct {
	t      *testing.T
	ns     string
	cmd    *exec.Cmd
	out    syncbuf.Buffer
	exited chan struct{}
}

// member is one entry of serf members -format=json.
type member struct {
	Name   string            `json:"name"`
	Addr   string            `json:"addr"`
	Tags   map[string]string `json:"tags"`
	Status string            `json:"status"`
}

// startPeer starts the peer agent in the container's peer namespace and
// waits until its RPC answers. It is killed when the test ends.
func startPeer(t *testing.T, c *container) *peer {
	t.Helper()
	p := &peer{t: t, ns: c.peerNS, exited: make(chan struct{})}
	p.cmd = p.command(context.Background(), "agent", "-node="+peerNode, "-bind="+peerIP, "-rpc-addr="+peerRPC)
	p.cmd.Stdout = &p.out
	p.cmd.Stderr = &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start the peer agent: %v", err)
	}
	go func() {
		p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("peer agent (%s) output:\n%s", peerBin, tail(p.out.String(), 60))
		}
	})
	wait.For(t, 30*time.Second, func() error {
		select {
		case <-p.exited:
			return fmt.Errorf("the peer agent exited: %v\n%s", p.cmd.ProcessState, p.out.String())
		default:
		}
		_, err := p.members()
		return err
	})
	return p
}

// command prepares "serf args..." in the peer's network namespace (nsenter
// execs the binary itself, so the process is the agent).
func (p *peer) command(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "nsenter", append([]string{"--net=/run/netns/" + p.ns, "--", peerBin}, args...)...)
}

// members asks the peer for its member list.
func (p *peer) members() ([]member, error) {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	out, err := p.command(ctx, "members", "-format=json", "-rpc-addr="+peerRPC).Output()
	if err != nil {
		return nil, fmt.Errorf("serf members on the peer: %w", err)
	}
	var list struct {
		Members []member `json:"members"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		return nil, fmt.Errorf("serf members on the peer: %w\n%s", err, out)
	}
	return list.Members, nil
}

// waitMember waits until the peer's entry for node satisfies cond (which
// describes what it wants when it returns false) and returns how long
// that took.
func (p *peer) waitMember(node string, timeout time.Duration, cond func(member) (bool, string)) time.Duration {
	p.t.Helper()
	start := time.Now()
	wait.For(p.t, timeout, func() error {
		members, err := p.members()
		if err != nil {
			return err
		}
		for _, m := range members {
			if m.Name == node {
				if ok, want := cond(m); !ok {
					return fmt.Errorf("the peer sees %s as %s %v, want %s", node, m.Status, m.Tags, want)
				}
				return nil
			}
		}
		return fmt.Errorf("the peer does not know %s (members %v)", node, members)
	})
	return time.Since(start)
}

// waitStatus waits until the peer sees node with the status.
func (p *peer) waitStatus(node, status string, timeout time.Duration) time.Duration {
	p.t.Helper()
	return p.waitMember(node, timeout, func(m member) (bool, string) {
		return m.Status == status, status
	})
}

// waitTag waits until the peer sees node alive with the tag.
func (p *peer) waitTag(node, key, value string, timeout time.Duration) time.Duration {
	p.t.Helper()
	return p.waitMember(node, timeout, func(m member) (bool, string) {
		return m.Status == "alive" && m.Tags[key] == value, fmt.Sprintf("alive with %s=%s", key, value)
	})
}
