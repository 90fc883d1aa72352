package agentcmd

import (
	"bytes"
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/cli"
	"github.com/openserf/serf/agent"
)

// configRun is what one readAgentConfigTo call returned and printed.
type configRun struct {
	config *agent.Config
	paths  []string
	err    error
	out    string // Ui.Output
	errOut string // Ui.Error
	stderr string // the flag package
}

// readConfigForTest runs readAgentConfigTo with a mock Ui.
func readConfigForTest(tb testing.TB, args ...string) configRun {
	tb.Helper()
	ui := cli.NewMockUi()
	var stderr bytes.Buffer
	c, paths, err := readAgentConfigTo(args, ui, &stderr)
	return configRun{c, paths, err, ui.OutputWriter.String(), ui.ErrorWriter.String(), stderr.String()}
}

// writeFile writes body to name under dir, creating directories.
func writeFile(tb testing.TB, dir, name, body string) string {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

// anInterface returns the name of some network interface of this host.
func anInterface(tb testing.TB) string {
	tb.Helper()
	ifaces, err := net.Interfaces()
	if err != nil || len(ifaces) == 0 {
		tb.Skipf("no network interfaces: %v", err)
	}
	return ifaces[0].Name
}

func TestReadAgentConfigDefaults(t *testing.T) {
	r := readConfigForTest(t)
	if r.err != nil {
		t.Fatalf("readAgentConfig() error = %v", r.err)
	}
	if r.out != "" || r.errOut != "" || r.stderr != "" {
		t.Errorf("readAgentConfig() printed %q, %q, %q, want nothing", r.out, r.errOut, r.stderr)
	}
	if r.paths != nil {
		t.Errorf("paths = %q, want none", r.paths)
	}
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	want := agent.DefaultConfig()
	want.NodeName = host
	if !reflect.DeepEqual(r.config, want) {
		t.Errorf("readAgentConfig() = %+v, want %+v", r.config, want)
	}
}

func TestReadAgentConfigEntryPoint(t *testing.T) {
	ui := cli.NewMockUi()
	c, paths, err := readAgentConfig([]string{"-node", "n1", "-role", "web"}, ui)
	if err != nil || c.NodeName != "n1" || paths != nil {
		t.Fatalf("readAgentConfig() = %+v, %q, %v, want node n1", c, paths, err)
	}
	if got, want := ui.OutputWriter.String(), "Deprecation warning: 'Role' has been replaced with 'Tags'\n"; got != want {
		t.Errorf("readAgentConfig() printed %q, want %q", got, want)
	}
}

func TestReadAgentConfigEveryFlag(t *testing.T) {
	tmp := t.TempDir()
	empty := writeFile(t, tmp, "empty.json", `{}`)
	args := []string{
		"-bind=10.0.0.1:7000",
		"-advertise=192.0.2.1",
		"-encrypt=5K9OtfP7efFrNKe5WCQvXvnaXJ5cWP0SvXiwe0kkjM4=",
		"-keyring-file=/tmp/keyring",
		"-event-handler=member-join=a.sh", "-event-handler", "user:deploy=b.sh",
		"-join=10.0.0.2", "-join=10.0.0.3",
		"-replay",
		"-log-level=debug",
		"-node=n1",
		"-protocol=3",
		"-rpc-addr=127.0.0.1:7374",
		"-profile=wan",
		"-snapshot=/tmp/snap",
		"-tag=a=1", "-tag", "b=x=y", "-tag=empty=",
		"-discover=prod",
		"-tags-file=/tmp/tags",
		"-syslog",
		"-retry-join=10.0.0.4", "-retry-join=10.0.0.5",
		"-retry-max=4",
		"-retry-interval=2s",
		"-rejoin",
		"-disable-compression",
		"-broadcast-timeout=3s",
		"-mdns-disable-ipv4",
		"-mdns-disable-ipv6=false",
		"-config-file=" + empty,
		"-config-dir=" + tmp,
	}
	r := readConfigForTest(t, args...)
	if r.err != nil {
		t.Fatalf("readAgentConfig(%q) error = %v (%s%s%s)", args, r.err, r.out, r.errOut, r.stderr)
	}
	c := r.config
	checks := []struct {
		name      string
		got, want any
	}{
		{"BindAddr", c.BindAddr, "10.0.0.1:7000"},
		{"AdvertiseAddr", c.AdvertiseAddr, "192.0.2.1"},
		{"EncryptKey", c.EncryptKey, "5K9OtfP7efFrNKe5WCQvXvnaXJ5cWP0SvXiwe0kkjM4="},
		{"KeyringFile", c.KeyringFile, "/tmp/keyring"},
		{"EventHandlers", c.EventHandlers, []string{"member-join=a.sh", "user:deploy=b.sh"}},
		{"StartJoin", c.StartJoin, []string{"10.0.0.2", "10.0.0.3"}},
		{"ReplayOnJoin", *c.ReplayOnJoin, true},
		{"LogLevel", c.LogLevel, "debug"},
		{"NodeName", c.NodeName, "n1"},
		{"Protocol", c.Protocol, 3},
		{"RPCAddr", c.RPCAddr, "127.0.0.1:7374"},
		{"Profile", c.Profile, "wan"},
		{"SnapshotPath", c.SnapshotPath, "/tmp/snap"},
		{"Tags", c.Tags, map[string]string{"a": "1", "b": "x=y", "empty": ""}},
		{"Discover", c.Discover, "prod"},
		{"TagsFile", c.TagsFile, "/tmp/tags"},
		{"EnableSyslog", *c.EnableSyslog, true},
		{"RetryJoin", c.RetryJoin, []string{"10.0.0.4", "10.0.0.5"}},
		{"RetryMaxAttempts", *c.RetryMaxAttempts, 4},
		{"RetryInterval()", c.RetryInterval(), 2 * time.Second},
		{"RejoinAfterLeave", *c.RejoinAfterLeave, true},
		{"EnableCompression", *c.EnableCompression, false},
		{"BroadcastTimeout()", c.BroadcastTimeout(), 3 * time.Second},
		{"MDNS.DisableIPv4", *c.MDNS.DisableIPv4, true},
		{"MDNS.DisableIPv6", *c.MDNS.DisableIPv6, false},
	}
	for _, tc := range checks {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	if want := []string{empty, tmp}; !reflect.DeepEqual(r.paths, want) {
		t.Errorf("paths = %q, want %q", r.paths, want)
	}
	if r.out != "" || r.errOut != "" || r.stderr != "" {
		t.Errorf("printed %q, %q, %q, want nothing", r.out, r.errOut, r.stderr)
	}

	// -iface and -mdns-iface are checked against the host.
	iface := anInterface(t)
	r = readConfigForTest(t, "-iface", iface, "-mdns-iface", iface, "-discover", "x")
	if r.err != nil {
		t.Fatalf("-iface/-mdns-iface %s: error %v (%s)", iface, r.err, r.errOut)
	}
	if r.config.Interface != iface || r.config.MDNS.Interface != iface {
		t.Errorf("-iface/-mdns-iface %s: config %q/%q", iface, r.config.Interface, r.config.MDNS.Interface)
	}
}

func TestReadAgentConfigMergeOrder(t *testing.T) {
	tmp := t.TempDir()
	a := writeFile(t, tmp, "a.json", `{"node_name": "a", "event_handlers": ["a.sh"], "tags": {"k": "a", "a": "1"},
		"start_join": ["ja"], "retry_join": ["ra"], "log_level": "warn"}`)
	d := filepath.Join(tmp, "d")
	writeFile(t, d, "1.json", `{"node_name": "d1", "event_handlers": ["d1.sh"], "tags": {"k": "d1"}}`)
	writeFile(t, d, "2.json", `{"event_handlers": ["d2.sh"], "start_join": ["jd"], "profile": "local"}`)
	writeFile(t, d, "ignored.txt", `not JSON`)
	b := writeFile(t, tmp, "b.json", `{"node_name": "b", "event_handlers": ["b.sh"], "tags": {"b": "2"}}`)

	args := []string{"-config-file", a, "-config-dir", d, "-config-file", b,
		"-event-handler", "flag.sh", "-tag", "k=flag", "-join", "jf", "-retry-join", "rf"}
	r := readConfigForTest(t, args...)
	if r.err != nil {
		t.Fatalf("readAgentConfig(%q) error = %v (%s)", args, r.err, r.errOut)
	}
	if want := []string{a, d, b}; !reflect.DeepEqual(r.paths, want) {
		t.Errorf("paths = %q, want %q", r.paths, want)
	}
	c := r.config
	checks := []struct {
		name      string
		got, want any
	}{
		{"NodeName", c.NodeName, "b"},
		{"EventHandlers", c.EventHandlers, []string{"a.sh", "d1.sh", "d2.sh", "b.sh", "flag.sh"}},
		{"Tags", c.Tags, map[string]string{"k": "flag", "a": "1", "b": "2"}},
		{"StartJoin", c.StartJoin, []string{"ja", "jd", "jf"}},
		{"RetryJoin", c.RetryJoin, []string{"ra", "rf"}},
		{"LogLevel", c.LogLevel, "warn"},
		{"Profile", c.Profile, "local"},
		{"BindAddr", c.BindAddr, "0.0.0.0"}, // the default survives
	}
	for _, tc := range checks {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

func TestReadAgentConfigFlagsOverrideFiles(t *testing.T) {
	tmp := t.TempDir()
	on := writeFile(t, tmp, "on.json", `{"replay_on_join": true, "enable_syslog": true, "rejoin_after_leave": true,
		"snapshot_path": "/tmp/s", "retry_max_attempts": 3, "protocol": 4, "node_name": "file",
		"retry_interval": "10s", "mdns": {"disable_ipv4": true}}`)
	off := writeFile(t, tmp, "off.json", `{"enable_compression": false}`)

	tests := []struct {
		name  string
		args  []string
		check func(*agent.Config) (got, want any)
	}{
		{"file bool kept", []string{"-config-file", on},
			func(c *agent.Config) (any, any) { return *c.ReplayOnJoin, true }},
		{"-replay=false turns it off", []string{"-config-file", on, "-replay=false"},
			func(c *agent.Config) (any, any) { return *c.ReplayOnJoin, false }},
		{"-syslog=false turns it off", []string{"-config-file", on, "-syslog=false"},
			func(c *agent.Config) (any, any) { return *c.EnableSyslog, false }},
		{"-rejoin=false turns it off", []string{"-config-file", on, "-rejoin=false"},
			func(c *agent.Config) (any, any) { return *c.RejoinAfterLeave, false }},
		{"-mdns-disable-ipv4=false turns it off", []string{"-config-file", on, "-mdns-disable-ipv4=false"},
			func(c *agent.Config) (any, any) { return *c.MDNS.DisableIPv4, false }},
		{"-retry-max=0 resets", []string{"-config-file", on, "-retry-max=0"},
			func(c *agent.Config) (any, any) { return *c.RetryMaxAttempts, 0 }},
		{"file count kept", []string{"-config-file", on},
			func(c *agent.Config) (any, any) { return *c.RetryMaxAttempts, 3 }},
		{"-protocol default keeps the file", []string{"-config-file", on},
			func(c *agent.Config) (any, any) { return c.Protocol, 4 }},
		{"-protocol=0 is ignored", []string{"-config-file", on, "-protocol=0"},
			func(c *agent.Config) (any, any) { return c.Protocol, 4 }},
		{"-protocol=2 wins", []string{"-config-file", on, "-protocol=2"},
			func(c *agent.Config) (any, any) { return c.Protocol, 2 }},
		{"-node wins", []string{"-config-file", on, "-node=flag"},
			func(c *agent.Config) (any, any) { return c.NodeName, "flag" }},
		{"-node= empty keeps the file", []string{"-config-file", on, "-node="},
			func(c *agent.Config) (any, any) { return c.NodeName, "file" }},
		{"-retry-interval wins", []string{"-config-file", on, "-retry-interval=5s"},
			func(c *agent.Config) (any, any) { return c.RetryInterval(), 5 * time.Second }},
		{"compression on by default", nil,
			func(c *agent.Config) (any, any) { return *c.EnableCompression, true }},
		{"compression off from a file", []string{"-config-file", off},
			func(c *agent.Config) (any, any) { return *c.EnableCompression, false }},
		{"-disable-compression", []string{"-disable-compression"},
			func(c *agent.Config) (any, any) { return *c.EnableCompression, false }},
		{"-disable-compression=false re-enables", []string{"-config-file", off, "-disable-compression=false"},
			func(c *agent.Config) (any, any) { return *c.EnableCompression, true }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := readConfigForTest(t, tc.args...)
			if r.err != nil {
				t.Fatalf("readAgentConfig(%q) error = %v (%s)", tc.args, r.err, r.errOut)
			}
			if got, want := tc.check(r.config); !reflect.DeepEqual(got, want) {
				t.Errorf("readAgentConfig(%q): got %v, want %v", tc.args, got, want)
			}
		})
	}
}

func TestReadAgentConfigErrors(t *testing.T) {
	tmp := t.TempDir()
	bogus := writeFile(t, tmp, "bogus.json", `{"bogus_key": 1}`)
	badDur := writeFile(t, tmp, "dur.json", `{"tombstone_timeout": "1d"}`)
	missing := filepath.Join(tmp, "missing.json")
	bigEvent := writeFile(t, tmp, "big.json", `{"user_event_size_limit": 9217}`)
	okEvent := writeFile(t, tmp, "ok.json", `{"user_event_size_limit": 9216}`)
	iface := anInterface(t)

	tests := []struct {
		name string
		args []string
		want string // the Ui.Error line; "" for success
	}{
		{"invalid tag without =", []string{"-tag", "novalue"}, "Error: Invalid tag: 'novalue'"},
		{"invalid tag with empty key", []string{"-tag", "=v"}, "Error: Invalid tag: '=v'"},
		{"bad retry interval", []string{"-retry-interval", "xx"}, `Error: time: invalid duration "xx"`},
		{"bad broadcast timeout", []string{"-broadcast-timeout", "5"}, `Error: time: missing unit in duration "5"`},
		{"missing config file", []string{"-config-file", missing},
			"Error reading '" + missing + "': open " + missing + ": no such file or directory"},
		{"unknown key", []string{"-config-dir", bogus},
			"Error decoding '" + bogus + "': decoding failed due to the following error(s):\n\n" +
				"'agent.Config' has invalid keys: bogus_key"},
		{"bad duration in a file", []string{"-config-file", badDur},
			"Error decoding '" + badDur + "': tombstone_timeout: time: unknown unit \"d\" in duration \"1d\""},
		{"invalid handler event", []string{"-event-handler", "member-joined=x.sh"},
			"Invalid event script: Event 'member-joined' invoking 'x.sh'"},
		{"handler event with a name", []string{"-event-handler", "member-join:foo=x.sh"},
			"Invalid event script: Event 'member-join:foo' invoking 'x.sh'"},
		{"second handler invalid", []string{"-event-handler", "a.sh", "-event-handler", "user:x,,query=y.sh"},
			"Invalid event script: Event '' invoking 'y.sh'"},
		{"invalid interface", []string{"-iface", "no-such-if0"},
			"Invalid network interface: route ip+net: no such network interface"},
		{"mdns interface without discover", []string{"-mdns-iface", iface},
			"mDNS interface specified without enabling mDNS discovery"},
		{"invalid mdns interface", []string{"-mdns-iface", "no-such-if0", "-discover", "x"},
			"Invalid mDNS network interface: route ip+net: no such network interface"},
		{"mdns without IPv4 and IPv6", []string{"-mdns-iface", iface, "-discover", "x",
			"-mdns-disable-ipv4", "-mdns-disable-ipv6"},
			"Invalid mDNS configuration: both IPv4 and IPv6 are disabled"},
		{"no IP versions is fine without an mdns interface", []string{"-discover", "x",
			"-mdns-disable-ipv4", "-mdns-disable-ipv6"}, ""},
		{"user event size limit too big", []string{"-config-file", bigEvent},
			"Failed to start the Serf agent: Error creating Serf: user event size limit exceeds limit of 9216 bytes"},
		{"user event size limit at the maximum", []string{"-config-file", okEvent}, ""},
		{"ui without http-addr", []string{"-ui"},
			"ui: the web UI is served on the HTTP listener: set http_addr (-http-addr) too"},
		{"ui with http-addr", []string{"-ui", "-http-addr", "127.0.0.1:7374"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := readConfigForTest(t, tc.args...)
			if tc.want == "" {
				if r.err != nil || r.errOut != "" {
					t.Errorf("readAgentConfig(%q) error = %v, printed %q, want success", tc.args, r.err, r.errOut)
				}
				return
			}
			if r.err == nil || r.config != nil || r.paths != nil {
				t.Fatalf("readAgentConfig(%q) = %v, %q, %v, want nil, nil, error",
					tc.args, r.config, r.paths, r.err)
			}
			if r.errOut != tc.want+"\n" {
				t.Errorf("readAgentConfig(%q) printed error\n%q\nwant\n%q", tc.args, r.errOut, tc.want+"\n")
			}
			if r.err.Error() != tc.want {
				t.Errorf("readAgentConfig(%q) error = %q, want %q", tc.args, r.err.Error(), tc.want)
			}
			if r.stderr != "" {
				t.Errorf("stderr = %q, want nothing", r.stderr)
			}
		})
	}
}

func TestReadAgentConfigWarnings(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		want  string // Ui.Output
		check func(*agent.Config) (got, want any)
	}{
		{"role", []string{"-role", "web", "-tag", "role=db"},
			"Deprecation warning: 'Role' has been replaced with 'Tags'\n",
			func(c *agent.Config) (any, any) { return c.Tags, map[string]string{"role": "web"} }},
		{"retry interval too low", []string{"-retry-interval", "500ms"},
			"Warning: 'RetryInterval' is too low. Setting to 1s\n",
			func(c *agent.Config) (any, any) { return c.RetryInterval(), time.Second }},
		{"retry interval zero", []string{"-retry-interval", "0s"},
			"Warning: 'RetryInterval' is too low. Setting to 1s\n",
			func(c *agent.Config) (any, any) { return c.RetryInterval(), time.Second }},
		{"retry interval at the minimum", []string{"-retry-interval", "1s"}, "",
			func(c *agent.Config) (any, any) { return c.RetryInterval(), time.Second }},
		{"broadcast timeout too low", []string{"-broadcast-timeout", "-3s"},
			"Warning: 'BroadcastTimeout' is too low. Setting to 1s\n",
			func(c *agent.Config) (any, any) { return c.BroadcastTimeout(), time.Second }},
		{"rejoin without snapshot", []string{"-rejoin"},
			"Warning: 'RejoinAfterLeave' enabled without snapshot file\n",
			func(c *agent.Config) (any, any) { return *c.RejoinAfterLeave, true }},
		{"rejoin with snapshot", []string{"-rejoin", "-snapshot", "/tmp/s"}, "",
			func(c *agent.Config) (any, any) { return c.SnapshotPath, "/tmp/s" }},
		{"all, in Serf's order", []string{"-rejoin", "-broadcast-timeout=1ms", "-retry-interval=1ms", "-role=x"},
			"Deprecation warning: 'Role' has been replaced with 'Tags'\n" +
				"Warning: 'RetryInterval' is too low. Setting to 1s\n" +
				"Warning: 'BroadcastTimeout' is too low. Setting to 1s\n" +
				"Warning: 'RejoinAfterLeave' enabled without snapshot file\n",
			func(c *agent.Config) (any, any) { return c.Tags["role"], "x" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := readConfigForTest(t, tc.args...)
			if r.err != nil {
				t.Fatalf("readAgentConfig(%q) error = %v (%s)", tc.args, r.err, r.errOut)
			}
			if r.out != tc.want {
				t.Errorf("readAgentConfig(%q) printed\n%q\nwant\n%q", tc.args, r.out, tc.want)
			}
			if got, want := tc.check(r.config); !reflect.DeepEqual(got, want) {
				t.Errorf("readAgentConfig(%q): got %v, want %v", tc.args, got, want)
			}
		})
	}
}

func TestReadAgentConfigLogLevel(t *testing.T) {
	for _, level := range []string{"trace", "DEBUG", "Info", "warn", "ERR"} {
		if r := readConfigForTest(t, "-log-level", level); r.err != nil {
			t.Errorf("-log-level %s: error = %v (%s)", level, r.err, r.errOut)
		}
	}

	tmp := t.TempDir()
	file := writeFile(t, tmp, "c.json", `{"log_level": "verbose", "event_handlers": ["x.sh"]}`)
	r := readConfigForTest(t, "-config-file", file, "-rejoin")
	if !errors.Is(r.err, agent.ErrInvalidLogLevel) {
		t.Fatalf("readAgentConfig error = %v, want agent.ErrInvalidLogLevel", r.err)
	}
	want := "Invalid log level: VERBOSE. Valid log levels are: [TRACE DEBUG INFO WARN ERR]\n"
	if r.errOut != want {
		t.Errorf("printed error %q, want %q", r.errOut, want)
	}
	// The warnings come first, as in Serf, where the level is checked
	// after the configuration is read.
	if want := "Warning: 'RejoinAfterLeave' enabled without snapshot file\n"; r.out != want {
		t.Errorf("printed %q, want %q", r.out, want)
	}
	// The rest of the configuration is returned, for a reload to apply.
	if r.config == nil || !reflect.DeepEqual(r.config.EventHandlers, []string{"x.sh"}) || len(r.paths) != 1 {
		t.Errorf("readAgentConfig() = %+v, %q, want the configuration and paths", r.config, r.paths)
	}
}

func TestReadAgentConfigFlagErrors(t *testing.T) {
	tests := []struct {
		args   []string
		stderr string
	}{
		{[]string{"-bogus"}, "flag provided but not defined: -bogus\n"},
		{[]string{"-replay=maybe"}, "invalid boolean value \"maybe\" for -replay: parse error\n"},
		{[]string{"-retry-max=x"}, "invalid value \"x\" for flag -retry-max: parse error\n"},
		{[]string{"-protocol"}, "flag needs an argument: -protocol\n"},
	}
	for _, tc := range tests {
		r := readConfigForTest(t, tc.args...)
		if r.config != nil || !errors.Is(r.err, errAgentFlags) {
			t.Errorf("readAgentConfig(%q) = %v, %v, want nil, errAgentFlags", tc.args, r.config, r.err)
		}
		if r.stderr != tc.stderr {
			t.Errorf("readAgentConfig(%q) stderr = %q, want %q", tc.args, r.stderr, tc.stderr)
		}
		if r.out != "" || r.errOut != "" {
			t.Errorf("readAgentConfig(%q) printed %q, %q on the Ui, want nothing", tc.args, r.out, r.errOut)
		}
	}

	// Parsing stops at the first argument that is not a flag.
	r := readConfigForTest(t, "-node=a", "extra", "-node=b")
	if r.err != nil || r.config.NodeName != "a" {
		t.Errorf("readAgentConfig(-node=a extra -node=b) = %v, %v, want node a", r.config, r.err)
	}
}

func TestEventHandlerSpecs(t *testing.T) {
	tests := []struct {
		spec string
		want string // "" for valid
	}{
		{"x.sh", ""},
		{"=x.sh", ""},
		{"*=x.sh", ""},
		{"member-join=x.sh", ""},
		{"member-join,member-leave,member-failed,member-update,member-reap=x.sh", ""},
		{"user=x.sh", ""},
		{"user:=x.sh", ""},
		{"user:deploy=x.sh", ""},
		{"query:load=x.sh", ""},
		{"user:a,query:b,*=x.sh", ""},
		{"*=FOO=1 ./x.sh", ""},
		{"FOO=1 ./x.sh", "Event 'FOO' invoking '1 ./x.sh'"},
		{"Member-Join=x.sh", "Event 'Member-Join' invoking 'x.sh'"},
		{"member-join:foo=x.sh", "Event 'member-join:foo' invoking 'x.sh'"},
		{"member-join, member-leave=x.sh", "Event ' member-leave' invoking 'x.sh'"},
		{"member-join,=x.sh", "Event '' invoking 'x.sh'"},
		{"users:x=x.sh", "Event 'users:x' invoking 'x.sh'"},
		{"bogus=", "Event 'bogus' invoking ''"},
	}
	for _, tc := range tests {
		err := readConfigForTest(t, "-event-handler", tc.spec).err
		got := ""
		if err != nil {
			got = err.Error()
		}
		if want := "Invalid event script: " + tc.want; (tc.want == "" && err != nil) || (tc.want != "" && got != want) {
			t.Errorf("-event-handler %q: error = %q, want %q", tc.spec, got, tc.want)
		}
	}
}

func TestAgentFlagNames(t *testing.T) {
	// Serf 0.11's `serf agent` flags.
	want := []string{
		"advertise", "bind", "broadcast-timeout", "config-dir", "config-file", "disable-compression",
		"discover", "encrypt", "event-handler", "iface", "join", "keyring-file", "log-level",
		"mdns-disable-ipv4", "mdns-disable-ipv6", "mdns-iface", "node", "profile", "protocol",
		"rejoin", "replay", "retry-interval", "retry-join", "retry-max", "role", "rpc-addr",
		"snapshot", "syslog", "tag", "tags-file",
	}
	// Ours beyond Serf's, each opt-in (docs/compatibility.md).
	want = append(want, "http-addr", "label", "log-json", "ui")
	slices.Sort(want)
	if got := agentFlagNames(); !reflect.DeepEqual(got, want) {
		t.Errorf("agentFlagNames() =\n%q\nwant\n%q", got, want)
	}
}
