package agent

import (
	"maps"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	metrics "github.com/hashicorp/go-metrics"
	"github.com/openserf/serf/client"
	"github.com/openserf/serf/internal/testutil/cluster"
	"github.com/openserf/serf/internal/testutil/metricsink"
	"github.com/openserf/serf/internal/testutil/oracle"
	"github.com/openserf/serf/serf"
)

// daemonConfig is a configuration as LoadConfig makes it, for a node on a
// fresh loopback address with free gossip and RPC ports.
func daemonConfig(t *testing.T, name string, edit func(*Config)) *Config {
	t.Helper()
	ip := cluster.IP()
	flags := &Config{
		NodeName: name,
		BindAddr: oracle.FreeAddr(t, ip),
		RPCAddr:  oracle.FreeAddr(t, ip),
		Profile:  "local",
	}
	if edit != nil {
		edit(flags)
	}
	conf, warnings, err := LoadConfig(flags, nil)
	if err != nil || len(warnings) > 0 {
		t.Fatalf("LoadConfig() = %v, %v", warnings, err)
	}
	return conf
}

// startDaemon makes and starts the agent `serf agent` would run, logging
// into the returned buffer at the configured level. Each prepare func is
// given the agent between New and Start.
func startDaemon(t *testing.T, conf *Config, prepare ...func(*Agent)) (*Agent, *cluster.SafeBuffer) {
	t.Helper()
	logs := &cluster.SafeBuffer{}
	a, notices, err := New(conf, logs)
	if err != nil || len(notices) > 0 {
		t.Fatalf("New() = %q, %v", notices, err)
	}
	for _, p := range prepare {
		p(a)
	}
	t.Cleanup(func() {
		_ = a.Shutdown()
		if t.Failed() {
			t.Logf("agent log:\n%s", logs.String())
		}
	})
	if err := a.Start(); err != nil {
		t.Fatalf("Start() error: %v", err)
	}
	return a, logs
}

// The agent New makes serves RPC on the configured address until
// Shutdown, which also frees the address.
func TestDaemonOwnsItsRPCServer(t *testing.T) {
	conf := daemonConfig(t, "d1", nil)
	a, _ := startDaemon(t, conf)
	if got, want := a.BindAddr().String(), conf.BindAddr; got != want {
		t.Errorf("BindAddr() = %s, want %s", got, want)
	}
	if a.AdvertiseAddr() != nil {
		t.Errorf("AdvertiseAddr() = %v, want none", a.AdvertiseAddr())
	}
	c, err := client.NewRPCClient(conf.RPCAddr)
	if err != nil {
		t.Fatalf("NewRPCClient(%s) error: %v", conf.RPCAddr, err)
	}
	ms, err := c.Members()
	c.Close()
	if err != nil || len(ms) != 1 || ms[0].Name != "d1" {
		t.Fatalf("Members() = %v, %v, want d1 alone", ms, err)
	}
	if err := a.Shutdown(); err != nil {
		t.Fatalf("Shutdown() error: %v", err)
	}
	l, err := net.Listen("tcp", conf.RPCAddr)
	if err != nil {
		t.Fatalf("RPC address still taken after Shutdown: %v", err)
	}
	l.Close()
}

// New's errors are Serf's messages, and what it printed on the way (the
// address -iface picked) comes with them.
func TestNewErrors(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Config)
		notices []string
		err     string
	}{
		{"bad bind", func(c *Config) { c.BindAddr = "1.2.3.4:x" },
			nil, `Invalid bind address: lookup tcp/x: unknown port`},
		{"bad advertise", func(c *Config) { c.AdvertiseAddr = "[::1" },
			nil, "Invalid advertise address: address [::1: missing ']' in address"},
		{"bad key", func(c *Config) { c.EncryptKey = "!" },
			nil, "Invalid encryption key: illegal base64 data at input byte 0"},
		{"unknown profile", func(c *Config) { c.Profile = "space" }, nil, "Unknown profile: space"},
		{"interface, then a bad key", func(c *Config) { c.BindAddr, c.Interface, c.EncryptKey = "0.0.0.0:0", "lo", "!" },
			[]string{"Using interface 'lo' address '127.0.0.1'"}, "Invalid encryption key: illegal base64 data at input byte 0"},
		{"interface without the address", func(c *Config) { c.Interface = "lo"; c.BindAddr = "192.0.2.1" },
			nil, "Interface 'lo' has no '192.0.2.1' address"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conf := daemonConfig(t, "bad", nil)
			tc.edit(conf)
			a, notices, err := New(conf, &cluster.SafeBuffer{})
			if a != nil {
				_ = a.Shutdown()
			}
			if err == nil || err.Error() != tc.err {
				t.Errorf("New() error = %v, want %s", err, tc.err)
			}
			if !reflect.DeepEqual(notices, tc.notices) {
				t.Errorf("New() notices = %q, want %q", notices, tc.notices)
			}
		})
	}
}

// New copies its configuration: a later change to the caller's is not
// the agent's.
func TestNewCopiesConfig(t *testing.T) {
	conf := daemonConfig(t, "copy", func(c *Config) { c.Tags = map[string]string{"a": "1"} })
	a, _ := startDaemon(t, conf)
	conf.Tags["a"] = "2"
	conf.NodeName = "other"
	if got := a.conf.Tags["a"]; got != "1" || a.conf.NodeName != "copy" {
		t.Errorf("agent's configuration changed with the caller's: tags %v, node %s", a.conf.Tags, a.conf.NodeName)
	}
}

func TestReloadTags(t *testing.T) {
	tests := []struct {
		name              string
		current, was, now map[string]string
		want              map[string]string
		changes           []string
	}{
		{"nothing changed", map[string]string{"a": "1", "rt": "x"}, map[string]string{"a": "1"}, map[string]string{"a": "1"},
			map[string]string{"a": "1", "rt": "x"}, nil},
		{"changed and added", map[string]string{"a": "1"}, map[string]string{"a": "1"}, map[string]string{"a": "2", "b": "3"},
			map[string]string{"a": "2", "b": "3"}, []string{"a=2", "b=3"}},
		{"dropped by the configuration", map[string]string{"a": "1", "rt": "x"}, map[string]string{"a": "1"}, nil,
			map[string]string{"rt": "x"}, []string{"-a"}},
		{"a runtime tag the configuration never had is kept", map[string]string{"rt": "x"}, nil, map[string]string{"a": "1"},
			map[string]string{"rt": "x", "a": "1"}, []string{"a=1"}},
		{"already so", map[string]string{"a": "2"}, map[string]string{"a": "1"}, map[string]string{"a": "2"},
			map[string]string{"a": "2"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			current := maps.Clone(tc.current)
			got, changes := reloadTags(current, tc.was, tc.now)
			if !maps.Equal(got, tc.want) || !reflect.DeepEqual(changes, tc.changes) {
				t.Errorf("reloadTags() = %v, %q, want %v, %q", got, changes, tc.want, tc.changes)
			}
			if !maps.Equal(current, tc.current) {
				t.Errorf("reloadTags() changed current to %v", current)
			}
		})
	}
}

// Reload applies the log level, the handlers and the tags, and logs each
// change; an invalid level keeps the one in force.
func TestReload(t *testing.T) {
	conf := daemonConfig(t, "rl", func(c *Config) { c.Tags = map[string]string{"a": "1"} })
	a, logs := startDaemon(t, conf)

	next := MergeConfig(nil, conf)
	next.LogLevel = "debug"
	next.EventHandlers = []string{"user:deploy=true"}
	next.Tags = map[string]string{"b": "2"}
	if err := a.Reload(next); err != nil {
		t.Fatalf("Reload() error: %v", err)
	}
	for _, want := range []string{
		"[INFO] agent: Reload changed the log level from INFO to DEBUG\n",
		"[INFO] agent: Reload changed the event handlers to [\"user:deploy=true\"]\n",
		"[INFO] agent: Reload changed tags: -a, b=2\n",
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
	if got := a.Serf().LocalMember().Tags; !maps.Equal(got, map[string]string{"b": "2"}) {
		t.Errorf("tags after Reload = %v, want b=2", got)
	}
	if got := a.EventHandlerKeys(); !maps.Equal(got, map[string]string{"user:deploy": "true"}) {
		t.Errorf("EventHandlerKeys() = %v", got)
	}

	bad := MergeConfig(nil, next)
	bad.LogLevel = "verbose"
	if err := a.Reload(bad); err != nil {
		t.Fatalf("Reload() error: %v", err)
	}
	if got := a.conf.LogLevel; got != "debug" {
		t.Errorf("log level after reloading an invalid one = %q, want debug kept", got)
	}

	withFile := MergeConfig(nil, next)
	withFile.TagsFile = "/nonexistent/tags.json"
	if err := a.Reload(withFile); err == nil ||
		err.Error() != "Failed to update tags: Tags config not allowed while using tag files" {
		t.Errorf("Reload() with tags and a tags file = %v", err)
	}
}

// A retry join that uses up its attempts closes RetryJoinFailedCh.
func TestRetryJoinGivesUp(t *testing.T) {
	conf := daemonConfig(t, "rj", func(c *Config) {
		c.RetryJoin = []string{oracle.FreeAddr(t, cluster.IP())} // no one there
		c.RetryMaxAttempts = valuePtr(1)
		c.RetryIntervalRaw = "1s"
	})
	a, logs := startDaemon(t, conf)
	if a.RetryJoinFailedCh() != nil {
		t.Error("RetryJoinFailedCh() set before StartRetryJoin")
	}
	a.StartRetryJoin()
	select {
	case <-a.RetryJoinFailedCh():
	case <-time.After(30 * time.Second):
		t.Fatal("retry join still going after 30s with one retry")
	}
	out := logs.String()
	if n := strings.Count(out, "[INFO] agent: Joining cluster...(replay: false)\n"); n != 2 {
		t.Errorf("%d join attempts logged, want 2", n)
	}
	if !strings.Contains(out, "[ERR] agent: maximum retry join attempts made, exiting\n") {
		t.Error("log lacks the give-up line")
	}
}

// A retry join under way ends with Shutdown.
func TestShutdownStopsRetryJoin(t *testing.T) {
	a, logs, _ := retryingDaemon(t, "rjs", "1h")
	waitLog(t, logs, "retrying in 1h0m0s")
	if err := a.Shutdown(); err != nil {
		t.Fatalf("Shutdown() error: %v", err)
	}
	select {
	case <-a.RetryJoinFailedCh():
		t.Error("RetryJoinFailedCh() closed by Shutdown")
	default:
	}
}

// The agent's own metrics carry the node's labels, as Serf's do.
func TestAgentMetricsCarryLabels(t *testing.T) {
	m, inm := metricsink.New(t)
	_, addr, _ := rpcTestAgent(t, "", func(sc *serf.Config) {
		sc.Metrics = m
		sc.MetricLabels = []metrics.Label{{Name: "dc", Value: "east"}}
	})
	c, err := client.NewRPCClient(addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	metricsink.WaitCounter(t, 10*time.Second, inm, "test.agent.ipc.accept;dc=east")
}
