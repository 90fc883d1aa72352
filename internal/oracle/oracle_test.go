package oracle

import (
	"net"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"
)

func TestCLIArgs(t *testing.T) {
	const addr = "127.0.0.9:7373"
	tests := []struct {
		args, want []string
	}{
		{nil, nil},
		{[]string{"members"}, []string{"members", "-rpc-addr=" + addr}},
		{[]string{"members", "-status=alive"}, []string{"members", "-rpc-addr=" + addr, "-status=alive"}},
		{[]string{"event", "deploy", "v1"}, []string{"event", "-rpc-addr=" + addr, "deploy", "v1"}},
		{[]string{"version"}, []string{"version"}},
		{[]string{"keygen"}, []string{"keygen"}},
	}
	for _, tt := range tests {
		if got := cliArgs(tt.args, addr); !slices.Equal(got, tt.want) {
			t.Errorf("cliArgs(%q) = %q, want %q", tt.args, got, tt.want)
		}
	}
}

func TestFlagValue(t *testing.T) {
	tests := []struct {
		args  []string
		value string
		found bool
	}{
		{nil, "", false},
		{[]string{"-node", "a"}, "", false},
		{[]string{"-rpc-addr", "1.2.3.4:5"}, "1.2.3.4:5", true},
		{[]string{"--rpc-addr=1.2.3.4:5"}, "1.2.3.4:5", true},
		{[]string{"-rpc-addr=a:1", "-node", "n", "-rpc-addr", "b:2"}, "b:2", true},
		{[]string{"-rpc-addrx=a:1"}, "", false},
		{[]string{"-rpc-addr"}, "", false},
		{[]string{"-config-file", "x.json", "-rpc-addr=a:1"}, "a:1", true},
		{[]string{"--", "-rpc-addr=a:1"}, "", false},
	}
	for _, tt := range tests {
		value, found := flagValue(tt.args, "rpc-addr")
		if value != tt.value || found != tt.found {
			t.Errorf("flagValue(%q) = %q, %v, want %q, %v", tt.args, value, found, tt.value, tt.found)
		}
	}
}

func TestFreePorts(t *testing.T) {
	const ip = "127.0.0.1"
	ports := FreePorts(t, ip, 3)
	if len(ports) != 3 {
		t.Fatalf("FreePorts() returned %d ports, want 3", len(ports))
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] {
			t.Errorf("FreePorts() = %v, want distinct ports", ports)
		}
		seen[p] = true
		addr := net.JoinHostPort(ip, strconv.Itoa(p))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("port %d not free for TCP: %v", p, err)
			continue
		}
		l.Close()
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			t.Errorf("port %d not free for UDP: %v", p, err)
			continue
		}
		pc.Close()
	}
}

// TestInteropAgentMembers starts each released Serf agent and checks that
// it lists itself as alive. Without SERF_INTEROP=1 it runs only for
// versions already in the cache, so plain "go test" never installs.
func TestInteropAgentMembers(t *testing.T) {
	for _, v := range Versions {
		t.Run(v, func(t *testing.T) {
			if _, ok := Cached(v); !ok && !Interop() {
				t.Skipf("serf %s oracle not cached; set SERF_INTEROP=1 to install it", v)
			}
			bin := Binary(t, v)

			const ip = "127.0.0.50"
			ports := FreePorts(t, ip, 2)
			bind := net.JoinHostPort(ip, strconv.Itoa(ports[0]))
			a := StartAgent(t, bin,
				"-bind", bind,
				"-rpc-addr", net.JoinHostPort(ip, strconv.Itoa(ports[1])),
				"-node", "o1")
			a.WaitRPC(20 * time.Second)

			out, err := a.CLI("members")
			if err != nil {
				t.Fatalf("serf members: %v\n%s", err, out)
			}
			want := regexp.MustCompile(`(?m)^o1\s+` + regexp.QuoteMeta(bind) + `\s+alive\b`)
			if !want.MatchString(out) {
				t.Errorf("serf members = %q, want a line matching %q", out, want)
			}
		})
	}
}
