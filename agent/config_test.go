package agent

import (
	"bytes"
	"encoding/json"
	"flag"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

var updateConfigGolden = flag.Bool("update-config", false, "rewrite testdata/config/*.golden.json")

// fullConfig is what testdata/config/full.json decodes to.
func fullConfig() *Config {
	return &Config{
		NodeName:                "node-a",
		Role:                    "web",
		DisableCoordinates:      valuePtr(true),
		Tags:                    map[string]string{"dc": "east", "rack": "r1"},
		TagsFile:                "/var/lib/serf/tags.json",
		BindAddr:                "10.0.0.1:7947",
		AdvertiseAddr:           "192.0.2.1",
		EncryptKey:              "5K9OtfP7efFrNKe5WCQvXvnaXJ5cWP0SvXiwe0kkjM4=",
		KeyringFile:             "/var/lib/serf/keyring.json",
		LogLevel:                "debug",
		RPCAddr:                 "127.0.0.1:7374",
		RPCAuthKey:              "s3cret",
		Protocol:                4,
		ReplayOnJoin:            valuePtr(true),
		QueryResponseSizeLimit:  valuePtr(2048),
		QuerySizeLimit:          valuePtr(4096),
		UserEventSizeLimit:      valuePtr(1024),
		StartJoin:               []string{"10.0.0.2", "10.0.0.3:7946"},
		EventHandlers:           []string{"member-join=./join.sh", "user:deploy=./deploy.sh"},
		Profile:                 "wan",
		SnapshotPath:            "/var/lib/serf/snapshot",
		LeaveOnTerm:             valuePtr(true),
		SkipLeaveOnInt:          valuePtr(true),
		Discover:                "prod",
		MDNS:                    MDNSSettings{Interface: "eth1", DisableIPv4: valuePtr(true), DisableIPv6: valuePtr(false)},
		Interface:               "eth0",
		ReconnectIntervalRaw:    "10s",
		ReconnectTimeoutRaw:     "1h30m",
		TombstoneTimeoutRaw:     "12h",
		HealIntervalRaw:         "30s",
		HealMaxIntervalRaw:      "10m",
		HealJitter:              valuePtr(0.3),
		HealMaxPeers:            64,
		DisableNameResolution:   valuePtr(true),
		EnableSyslog:            valuePtr(true),
		SyslogFacility:          "LOCAL3",
		LogJSON:                 valuePtr(true),
		PrometheusRetentionRaw:  "2m",
		HTTPAddr:                "127.0.0.1:7374",
		HTTPUnixMode:            "0660",
		HTTPTLSCertFile:         "/etc/serf/tls/cert.pem",
		HTTPTLSKeyFile:          "/etc/serf/tls/key.pem",
		HTTPAuth:                "http-s3cret",
		UI:                      valuePtr(true),
		GossipIntervalRaw:       "100ms",
		GossipNodes:             4,
		GossipToTheDeadTimeRaw:  "15s",
		ProbeIntervalRaw:        "500ms",
		ProbeTimeoutRaw:         "250ms",
		SuspicionMult:           5,
		SuspicionMaxTimeoutMult: 7,
		RetransmitMult:          3,
		PushPullIntervalRaw:     "1m",
		TCPTimeoutRaw:           "5s",
		UDPBufferSize:           9000,
		Label:                   "prod-east",
		EncryptVerifyIncoming:   valuePtr(false),
		EncryptVerifyOutgoing:   valuePtr(false),
		GossipAllowedCIDRs:      []string{"10.0.0.0/8"},
		RPCAllowedCIDRs:         []string{"127.0.0.0/8"},
		HTTPAllowedCIDRs:        []string{"10.1.0.0/16", "fd00::/8"},
		RetryJoin:               []string{"10.0.0.4"},
		RetryMaxAttempts:        valuePtr(5),
		RetryIntervalRaw:        "15s",
		RejoinAfterLeave:        valuePtr(true),
		EnableCompression:       valuePtr(false),
		StatsiteAddr:            "127.0.0.1:8125",
		StatsdAddr:              "127.0.0.1:8126",
		BroadcastTimeoutRaw:     "7s",
		ValidateNodeNames:       valuePtr(true),
		MsgpackUseNewTimeFormat: valuePtr(true),
	}
}

// mustJSON renders c for failure messages and golden files: pointers show
// as their values, nil as null.
func mustJSON(tb testing.TB, c *Config) string {
	tb.Helper()
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		tb.Fatalf("json.MarshalIndent: %v", err)
	}
	return string(b) + "\n"
}

// unsetFields lists the fields of the struct v that are nil or zero.
func unsetFields(v reflect.Value) []string {
	return fieldsWhere("", v, reflect.Value.IsZero)
}

// unsetPointers lists the nil pointer fields of the struct v.
func unsetPointers(v reflect.Value) []string {
	return fieldsWhere("", v, func(f reflect.Value) bool {
		return f.Kind() == reflect.Pointer && f.IsNil()
	})
}

// fieldsWhere lists the fields of the struct v, walking into nested
// structs, for which unset holds, each named with prefix and the names
// of the structs it is in.
func fieldsWhere(prefix string, v reflect.Value, unset func(reflect.Value) bool) []string {
	var out []string
	for i := 0; i < v.NumField(); i++ {
		f, name := v.Field(i), prefix+v.Type().Field(i).Name
		switch {
		case f.Kind() == reflect.Struct:
			out = append(out, fieldsWhere(name+".", f, unset)...)
		case unset(f):
			out = append(out, name)
		}
	}
	return out
}

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	checks := []struct {
		name      string
		got, want any
	}{
		{"BindAddr", c.BindAddr, "0.0.0.0"},
		{"RPCAddr", c.RPCAddr, "127.0.0.1:7373"},
		{"LogLevel", c.LogLevel, "INFO"},
		{"Protocol", c.Protocol, 5},
		{"Profile", c.Profile, "lan"},
		{"QueryResponseSizeLimit", *c.QueryResponseSizeLimit, 1024},
		{"QuerySizeLimit", *c.QuerySizeLimit, 1024},
		{"UserEventSizeLimit", *c.UserEventSizeLimit, 512},
		{"RetryInterval()", c.RetryInterval(), 30 * time.Second},
		{"BroadcastTimeout()", c.BroadcastTimeout(), 5 * time.Second},
		{"ReconnectInterval()", c.ReconnectInterval(), time.Duration(0)},
		{"ReconnectTimeout()", c.ReconnectTimeout(), time.Duration(0)},
		{"TombstoneTimeout()", c.TombstoneTimeout(), time.Duration(0)},
		{"SyslogFacility", c.SyslogFacility, "LOCAL0"},
		{"LogJSON", *c.LogJSON, false},
		{"UI", *c.UI, false},
		{"PrometheusRetention()", c.PrometheusRetention(), time.Minute},
		{"EnableCompression", *c.EnableCompression, true},
		{"EncryptVerifyIncoming", *c.EncryptVerifyIncoming, true},
		{"EncryptVerifyOutgoing", *c.EncryptVerifyOutgoing, true},
		{"Label", c.Label, ""},
		{"DisableCoordinates", *c.DisableCoordinates, false},
		{"RetryMaxAttempts", *c.RetryMaxAttempts, 0},
		{"len(Tags)", len(c.Tags), 0},
	}
	for _, tc := range checks {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("DefaultConfig().%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	if c.Tags == nil {
		t.Errorf("DefaultConfig().Tags = nil, want an empty map")
	}

	// Every pointer is set, so a config built on the defaults can be
	// dereferenced without nil checks.
	for _, name := range unsetPointers(reflect.ValueOf(c).Elem()) {
		t.Errorf("DefaultConfig().%s = nil, want set", name)
	}

	// Each call returns a fresh value.
	c.Tags["x"] = "y"
	*c.EnableCompression = false
	if d := DefaultConfig(); len(d.Tags) != 0 || !*d.EnableCompression {
		t.Errorf("DefaultConfig() shares state between calls: %s", mustJSON(t, d))
	}
}

func TestDecodeConfigAllKeys(t *testing.T) {
	path := filepath.Join("testdata", "config", "full.json")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := DecodeConfig(f)
	if err != nil {
		t.Fatalf("DecodeConfig(%s) error = %v", path, err)
	}
	if want := fullConfig(); !reflect.DeepEqual(got, want) {
		t.Errorf("DecodeConfig(%s) =\n%s\nwant\n%s", path, mustJSON(t, got), mustJSON(t, want))
	}
	// full.json must exercise every key.
	if unset := unsetFields(reflect.ValueOf(got).Elem()); len(unset) != 0 {
		t.Errorf("full.json leaves fields unset: %v", unset)
	}

	golden := filepath.Join("testdata", "config", "full.golden.json")
	rendered := mustJSON(t, got)
	if *updateConfigGolden {
		if err := os.WriteFile(golden, []byte(rendered), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update-config to create it)", err)
	}
	if rendered != string(want) {
		t.Errorf("decoded full.json =\n%s\nwant (%s)\n%s", rendered, golden, want)
	}
}

func TestDecodeConfig(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want *Config
	}{
		{"empty object", `{}`, &Config{}},
		{"null", `null`, &Config{}},
		{"null leaves a key unset", `{"replay_on_join": null, "protocol": null}`, &Config{}},
		{"false is set", `{"replay_on_join": false, "enable_compression": false}`,
			&Config{ReplayOnJoin: valuePtr(false), EnableCompression: valuePtr(false)}},
		{"zero is set", `{"retry_max_attempts": 0, "user_event_size_limit": 0}`,
			&Config{RetryMaxAttempts: valuePtr(0), UserEventSizeLimit: valuePtr(0)}},
		{"number truncates to int", `{"protocol": 3.9, "query_size_limit": 2e3}`,
			&Config{Protocol: 3, QuerySizeLimit: valuePtr(2000)}},
		{"keys match in any case", `{"NODE_NAME": "a", "Bind": "b", "msgpackusenewtimeformat": true}`,
			&Config{NodeName: "a", BindAddr: "b", MsgpackUseNewTimeFormat: valuePtr(true)}},
		{"zero duration", `{"retry_interval": "0s", "broadcast_timeout": "0"}`,
			&Config{RetryIntervalRaw: "0s", BroadcastTimeoutRaw: "0"}},
		{"empty lists", `{"start_join": [], "tags": {}}`,
			&Config{StartJoin: []string{}, Tags: map[string]string{}}},
		{"only the first JSON value is read", `{"node_name": "a"} {"node_name": "b"} junk`,
			&Config{NodeName: "a"}},
		{"mdns object", `{"mdns": {"interface": "lo", "disable_ipv6": true}}`,
			&Config{MDNS: MDNSSettings{Interface: "lo", DisableIPv6: valuePtr(true)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeConfig(strings.NewReader(tc.in))
			if err != nil {
				t.Fatalf("DecodeConfig(%s) error = %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("DecodeConfig(%s) =\n%s\nwant\n%s", tc.in, mustJSON(t, got), mustJSON(t, tc.want))
			}
		})
	}
}

func TestDecodeConfigErrors(t *testing.T) {
	// Serf 0.11.0 gives these texts, byte for byte (mapstructure v2),
	// except for durations, where we also name the key.
	const prefix = "decoding failed due to the following error(s):\n\n"
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"empty input", ``, "EOF"},
		{"truncated", `{"node_name": "a"`, "unexpected EOF"},
		{"syntax", `{"node_name" "a"}`, "invalid character '\"' after object key"},
		{"unknown key", `{"bogus_key": 1}`, prefix + "'agent.Config' has invalid keys: bogus_key"},
		{"unknown keys sorted", `{"zz": 1, "bogus_key": 2, "node_name": "a"}`,
			prefix + "'agent.Config' has invalid keys: bogus_key, zz"},
		{"unknown mdns key", `{"mdns": {"iface": "lo"}}`, prefix + "'mdns' has invalid keys: iface"},
		{"duration field name is not a key", `{"ReconnectIntervalRaw": "1s"}`,
			prefix + "'agent.Config' has invalid keys: ReconnectIntervalRaw"},
		{"string for bool", `{"replay_on_join": "yes"}`,
			prefix + "'replay_on_join' expected type 'bool', got unconvertible type 'string'"},
		{"number for bool", `{"enable_compression": 0}`,
			prefix + "'enable_compression' expected type 'bool', got unconvertible type 'float64'"},
		{"string for int", `{"protocol": "5"}`,
			prefix + "'protocol' expected type 'int', got unconvertible type 'string'"},
		{"bool for int", `{"retry_max_attempts": true}`,
			prefix + "'retry_max_attempts' expected type 'int', got unconvertible type 'bool'"},
		{"number for string", `{"node_name": 1}`,
			prefix + "'node_name' expected type 'string', got unconvertible type 'float64'"},
		{"number for duration", `{"reconnect_interval": 5}`,
			prefix + "'reconnect_interval' expected type 'string', got unconvertible type 'float64'"},
		{"number tag value", `{"tags": {"a": 1}}`,
			prefix + "'tags[a]' expected type 'string', got unconvertible type 'float64'"},
		{"list for tags", `{"tags": []}`,
			prefix + "'tags' expected type 'map[string]string', got unconvertible type '[]interface {}'"},
		{"string for list", `{"start_join": "a"}`,
			prefix + "'start_join' source data must be an array or slice, got string"},
		{"number in list", `{"event_handlers": ["a", 1]}`,
			prefix + "'event_handlers[1]' expected type 'string', got unconvertible type 'float64'"},
		{"number for mdns", `{"mdns": 5}`, prefix + "'mdns' expected a map or struct, got \"float64\""},
		{"array at top", `[]`, "'' expected a map or struct, got \"slice\""},
		{"string at top", `"x"`, "'' expected a map or struct, got \"string\""},
		{"several errors in field order", `{"x": 1, "protocol": "a", "node_name": 2}`,
			prefix + "'node_name' expected type 'string', got unconvertible type 'float64'\n" +
				"'protocol' expected type 'int', got unconvertible type 'string'\n" +
				"'agent.Config' has invalid keys: x"},
		{"bad reconnect_interval", `{"reconnect_interval": "xx"}`,
			`reconnect_interval: time: invalid duration "xx"`},
		{"bad reconnect_timeout", `{"reconnect_timeout": "1"}`,
			`reconnect_timeout: time: missing unit in duration "1"`},
		{"bad tombstone_timeout", `{"tombstone_timeout": "1d"}`,
			`tombstone_timeout: time: unknown unit "d" in duration "1d"`},
		{"bad retry_interval", `{"retry_interval": "soon"}`,
			`retry_interval: time: invalid duration "soon"`},
		{"bad broadcast_timeout", `{"broadcast_timeout": "5 s"}`,
			`broadcast_timeout: time: unknown unit " s" in duration "5 s"`},
		{"first bad duration in Serf's order", `{"broadcast_timeout": "a", "reconnect_timeout": "b"}`,
			`reconnect_timeout: time: invalid duration "b"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeConfig(strings.NewReader(tc.in))
			if err == nil {
				t.Fatalf("DecodeConfig(%s) = %s, want error %q", tc.in, mustJSON(t, got), tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("DecodeConfig(%s) error =\n%q\nwant\n%q", tc.in, err.Error(), tc.want)
			}
		})
	}
}

func TestReadConfigPathsDirectory(t *testing.T) {
	dir := filepath.Join("testdata", "config", "dir")
	got, err := ReadConfigPaths([]string{dir})
	if err != nil {
		t.Fatalf("ReadConfigPaths(%s) error = %v", dir, err)
	}
	// Byte order: 01-base, 02-override, 10-numbers-sort-as-text,
	// 9-sorts-last. notes.txt, UPPER.JSON, 03-backup.json.bak and the
	// nested.json directory are not read (they would not decode).
	want := &Config{
		NodeName:         "from-9",
		Tags:             map[string]string{"order": "02", "base": "yes"},
		EventHandlers:    []string{"./01.sh", "./02.sh", "./10.sh", "./9.sh"},
		ReplayOnJoin:     valuePtr(false), // a later file turns a bool off
		RetryMaxAttempts: valuePtr(0),     // and sets a count back to 0
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ReadConfigPaths(%s) =\n%s\nwant\n%s", dir, mustJSON(t, got), mustJSON(t, want))
	}
}

func TestReadConfigPathsOrder(t *testing.T) {
	tmp := t.TempDir()
	write := func(name, body string) string {
		t.Helper()
		p := filepath.Join(tmp, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("a.json", `{"node_name": "a", "event_handlers": ["a"], "tags": {"k": "a"}}`)
	write("d/1.json", `{"node_name": "d1", "event_handlers": ["d1"]}`)
	write("d/2.json", `{"event_handlers": ["d2"], "tags": {"k": "d2", "d": "x"}}`)
	// A file without the .json suffix can still be named directly.
	b := write("b.conf", `{"node_name": "b", "event_handlers": ["b"]}`)

	got, err := ReadConfigPaths([]string{a, filepath.Join(tmp, "d"), b})
	if err != nil {
		t.Fatalf("ReadConfigPaths error = %v", err)
	}
	if got.NodeName != "b" {
		t.Errorf("NodeName = %q, want %q", got.NodeName, "b")
	}
	if want := []string{"a", "d1", "d2", "b"}; !reflect.DeepEqual(got.EventHandlers, want) {
		t.Errorf("EventHandlers = %q, want %q", got.EventHandlers, want)
	}
	if want := map[string]string{"k": "d2", "d": "x"}; !reflect.DeepEqual(got.Tags, want) {
		t.Errorf("Tags = %v, want %v", got.Tags, want)
	}

	got, err = ReadConfigPaths(nil)
	if err != nil || !reflect.DeepEqual(got, &Config{}) {
		t.Errorf("ReadConfigPaths(nil) = %s, %v, want an empty Config", mustJSON(t, got), err)
	}
}

func TestReadConfigPathsErrors(t *testing.T) {
	tmp := t.TempDir()
	good := filepath.Join(tmp, "good.json")
	bad := filepath.Join(tmp, "bad.json")
	dir := filepath.Join(tmp, "dir")
	inDir := filepath.Join(dir, "x.json")
	missing := filepath.Join(tmp, "missing.json")
	for p, body := range map[string]string{
		good:  `{"node_name": "a"}`,
		bad:   `{"bogus_key": true}`,
		inDir: `{"retry_interval": "xx"}`,
	} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name  string
		paths []string
		want  string
	}{
		{"missing file", []string{good, missing},
			"Error reading '" + missing + "': open " + missing + ": no such file or directory"},
		{"unknown key", []string{good, bad},
			"Error decoding '" + bad + "': decoding failed due to the following error(s):\n\n" +
				"'agent.Config' has invalid keys: bogus_key"},
		{"bad duration in a directory", []string{dir},
			"Error decoding '" + inDir + "': retry_interval: time: invalid duration \"xx\""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadConfigPaths(tc.paths)
			if err == nil {
				t.Fatalf("ReadConfigPaths(%q) = %s, want error", tc.paths, mustJSON(t, got))
			}
			if err.Error() != tc.want {
				t.Errorf("ReadConfigPaths(%q) error =\n%q\nwant\n%q", tc.paths, err.Error(), tc.want)
			}
		})
	}
}

func TestMergeConfig(t *testing.T) {
	tests := []struct {
		name    string
		a, b    *Config
		want    *Config
		compare func(*Config) any // part of the result to check; nil: all
	}{
		{"string set", &Config{NodeName: "a"}, &Config{NodeName: "b"}, &Config{NodeName: "b"}, nil},
		{"empty string keeps", &Config{NodeName: "a"}, &Config{}, &Config{NodeName: "a"}, nil},
		{"bool on", &Config{}, &Config{ReplayOnJoin: valuePtr(true)},
			&Config{ReplayOnJoin: valuePtr(true)}, nil},
		{"bool off", &Config{ReplayOnJoin: valuePtr(true)}, &Config{ReplayOnJoin: valuePtr(false)},
			&Config{ReplayOnJoin: valuePtr(false)}, nil},
		{"nil bool keeps", &Config{LeaveOnTerm: valuePtr(true)}, &Config{},
			&Config{LeaveOnTerm: valuePtr(true)}, nil},
		{"int to zero", &Config{RetryMaxAttempts: valuePtr(3)}, &Config{RetryMaxAttempts: valuePtr(0)},
			&Config{RetryMaxAttempts: valuePtr(0)}, nil},
		{"nil int keeps", &Config{QuerySizeLimit: valuePtr(9)}, &Config{},
			&Config{QuerySizeLimit: valuePtr(9)}, nil},
		{"protocol above zero", &Config{Protocol: 5}, &Config{Protocol: 3}, &Config{Protocol: 3}, nil},
		{"protocol zero keeps", &Config{Protocol: 5}, &Config{Protocol: 0}, &Config{Protocol: 5}, nil},
		{"protocol negative keeps", &Config{Protocol: 5}, &Config{Protocol: -1}, &Config{Protocol: 5}, nil},
		{"duration set", &Config{RetryIntervalRaw: "30s"}, &Config{RetryIntervalRaw: "10s"},
			&Config{RetryIntervalRaw: "10s"}, nil},
		{"duration to zero", &Config{BroadcastTimeoutRaw: "5s"}, &Config{BroadcastTimeoutRaw: "0s"},
			&Config{BroadcastTimeoutRaw: "0s"}, nil},
		{"compression off from a file", DefaultConfig(), &Config{EnableCompression: valuePtr(false)},
			&Config{EnableCompression: valuePtr(false)},
			func(c *Config) any { return &Config{EnableCompression: c.EnableCompression} }},
		{"compression kept when unset", &Config{EnableCompression: valuePtr(false)}, &Config{},
			&Config{EnableCompression: valuePtr(false)}, nil},
		{"tags union, later wins",
			&Config{Tags: map[string]string{"a": "1", "b": "1"}},
			&Config{Tags: map[string]string{"b": "2", "c": "2"}},
			&Config{Tags: map[string]string{"a": "1", "b": "2", "c": "2"}}, nil},
		{"tags into nil", &Config{}, &Config{Tags: map[string]string{"a": "1"}},
			&Config{Tags: map[string]string{"a": "1"}}, nil},
		{"lists concatenate",
			&Config{EventHandlers: []string{"a"}, StartJoin: []string{"j1"}, RetryJoin: []string{"r1"}},
			&Config{EventHandlers: []string{"b", "c"}, StartJoin: []string{"j2"}, RetryJoin: []string{"r2"}},
			&Config{EventHandlers: []string{"a", "b", "c"}, StartJoin: []string{"j1", "j2"},
				RetryJoin: []string{"r1", "r2"}}, nil},
		{"allow-lists replace",
			&Config{GossipAllowedCIDRs: []string{"10.0.0.0/8"}, RPCAllowedCIDRs: []string{"127.0.0.1/32"}},
			&Config{GossipAllowedCIDRs: []string{"10.1.0.0/16", "10.2.0.0/16"}},
			&Config{GossipAllowedCIDRs: []string{"10.1.0.0/16", "10.2.0.0/16"}, RPCAllowedCIDRs: []string{"127.0.0.1/32"}}, nil},
		{"mdns field by field",
			&Config{MDNS: MDNSSettings{Interface: "eth0", DisableIPv4: valuePtr(true)}},
			&Config{MDNS: MDNSSettings{DisableIPv4: valuePtr(false), DisableIPv6: valuePtr(true)}},
			&Config{MDNS: MDNSSettings{Interface: "eth0", DisableIPv4: valuePtr(false),
				DisableIPv6: valuePtr(true)}}, nil},
		{"nil a", nil, &Config{NodeName: "b"}, &Config{NodeName: "b"}, nil},
		{"nil b", &Config{NodeName: "a"}, nil, &Config{NodeName: "a"}, nil},
		{"full onto defaults", DefaultConfig(), fullConfig(), fullConfig(), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := MergeConfig(tc.a, tc.b)
			var g, w any = got, tc.want
			if tc.compare != nil {
				g, w = tc.compare(got), tc.compare(tc.want)
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("MergeConfig() =\n%s\nwant\n%s", mustJSON(t, got), mustJSON(t, tc.want))
			}
		})
	}
}

// TestMergeConfigEveryField fills every field through reflection, so a
// field added to Config but forgotten in overlay fails here.
func TestMergeConfigEveryField(t *testing.T) {
	full := new(Config)
	fill(reflect.ValueOf(full).Elem())
	if unset := unsetFields(reflect.ValueOf(full).Elem()); len(unset) != 0 {
		t.Fatalf("fill left %v unset", unset)
	}
	if got := MergeConfig(new(Config), full); !reflect.DeepEqual(got, full) {
		t.Errorf("MergeConfig(empty, full) =\n%s\nwant\n%s", mustJSON(t, got), mustJSON(t, full))
	}
	if got := MergeConfig(full, new(Config)); !reflect.DeepEqual(got, full) {
		t.Errorf("MergeConfig(full, empty) =\n%s\nwant\n%s", mustJSON(t, got), mustJSON(t, full))
	}
}

// fill sets every field of the struct v to a non-zero value.
func fill(v reflect.Value) {
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString("1s") // a valid duration too
		case reflect.Int:
			f.SetInt(3)
		case reflect.Pointer:
			f.Set(reflect.New(f.Type().Elem()))
			switch e := f.Elem(); e.Kind() {
			case reflect.Bool:
				e.SetBool(true)
			case reflect.Int:
				e.SetInt(7)
			case reflect.Float64:
				e.SetFloat(0.5)
			}
		case reflect.Slice:
			f.Set(reflect.ValueOf([]string{"x"}))
		case reflect.Map:
			f.Set(reflect.ValueOf(map[string]string{"k": "v"}))
		case reflect.Struct:
			fill(f)
		default:
			panic("fill: unhandled kind " + f.Kind().String())
		}
	}
}

func TestMergeConfigCopies(t *testing.T) {
	a, b := fullConfig(), fullConfig()
	b.EventHandlers = []string{"extra"}
	got := MergeConfig(a, b)

	got.Tags["new"] = "x"
	got.EventHandlers[0] = "changed"
	got.StartJoin[0] = "changed"
	*got.ReplayOnJoin = false
	*got.MDNS.DisableIPv4 = false
	*got.RetryMaxAttempts = 99

	if want := fullConfig(); !reflect.DeepEqual(a, want) {
		t.Errorf("MergeConfig changed or shares a: %s", mustJSON(t, a))
	}
	want := fullConfig()
	want.EventHandlers = []string{"extra"}
	if !reflect.DeepEqual(b, want) {
		t.Errorf("MergeConfig changed or shares b: %s", mustJSON(t, b))
	}
}

func TestDurationAccessors(t *testing.T) {
	set := &Config{
		ReconnectIntervalRaw: "10s",
		ReconnectTimeoutRaw:  "1h30m",
		TombstoneTimeoutRaw:  "0s",
		RetryIntervalRaw:     "250ms",
		BroadcastTimeoutRaw:  "-1s",
	}
	unset := &Config{}
	// Only reachable for a Config built by hand: DecodeConfig rejects it.
	broken := &Config{ReconnectIntervalRaw: "x", RetryIntervalRaw: "x", BroadcastTimeoutRaw: "x"}
	tests := []struct {
		name string
		got  time.Duration
		want time.Duration
	}{
		{"set ReconnectInterval", set.ReconnectInterval(), 10 * time.Second},
		{"set ReconnectTimeout", set.ReconnectTimeout(), 90 * time.Minute},
		{"set TombstoneTimeout", set.TombstoneTimeout(), 0},
		{"set RetryInterval", set.RetryInterval(), 250 * time.Millisecond},
		{"set BroadcastTimeout", set.BroadcastTimeout(), -time.Second},
		{"unset ReconnectInterval", unset.ReconnectInterval(), 0},
		{"unset ReconnectTimeout", unset.ReconnectTimeout(), 0},
		{"unset TombstoneTimeout", unset.TombstoneTimeout(), 0},
		{"unset RetryInterval", unset.RetryInterval(), DefaultRetryInterval},
		{"unset BroadcastTimeout", unset.BroadcastTimeout(), DefaultBroadcastTimeout},
		{"broken ReconnectInterval", broken.ReconnectInterval(), 0},
		{"broken RetryInterval", broken.RetryInterval(), DefaultRetryInterval},
		{"broken BroadcastTimeout", broken.BroadcastTimeout(), DefaultBroadcastTimeout},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

func TestAddrParts(t *testing.T) {
	tests := []struct {
		addr     string
		wantIP   string
		wantPort int
		wantErr  string
	}{
		{"0.0.0.0", "0.0.0.0", 7946, ""},
		{"127.0.0.1:8000", "127.0.0.1", 8000, ""},
		{"[::1]", "::1", 7946, ""},
		{"[::1]:7946", "::1", 7946, ""},
		{"[::1]:9000", "::1", 9000, ""},
		{"::1", "", 0, "address ::1: too many colons in address"},
		{"127.0.0.1:x", "", 0, "lookup tcp/x: unknown port"},
		{"127.0.0.1:70000", "", 0, "address 70000: invalid port"},
	}
	c := DefaultConfig()
	for _, tc := range tests {
		ip, port, err := c.AddrParts(tc.addr)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("AddrParts(%q) error = %v, want %q", tc.addr, err, tc.wantErr)
			}
			continue
		}
		if err != nil || ip != tc.wantIP || port != tc.wantPort {
			t.Errorf("AddrParts(%q) = %q, %d, %v, want %q, %d, nil",
				tc.addr, ip, port, err, tc.wantIP, tc.wantPort)
		}
	}
}

func TestEncryptBytes(t *testing.T) {
	c := &Config{EncryptKey: "5K9OtfP7efFrNKe5WCQvXvnaXJ5cWP0SvXiwe0kkjM4="}
	if key, err := c.EncryptBytes(); err != nil || len(key) != 32 {
		t.Errorf("EncryptBytes() = %d bytes, %v, want 32 bytes", len(key), err)
	}
	c.EncryptKey = "!"
	if _, err := c.EncryptBytes(); err == nil || err.Error() != "illegal base64 data at input byte 0" {
		t.Errorf("EncryptBytes(%q) error = %v, want illegal base64 data at input byte 0", c.EncryptKey, err)
	}
}

func TestEventScripts(t *testing.T) {
	c := &Config{EventHandlers: []string{"member-join=a.sh", "b.sh"}}
	got := c.EventScripts()
	if want := []string{"member-join=a.sh", "b.sh"}; !reflect.DeepEqual(got, want) {
		t.Errorf("EventScripts() = %q, want %q", got, want)
	}
	got[0] = "changed"
	if c.EventHandlers[0] != "member-join=a.sh" {
		t.Errorf("EventScripts() shares its slice with the config")
	}
}

func TestNetworkInterface(t *testing.T) {
	ifaces, err := net.Interfaces()
	if err != nil || len(ifaces) == 0 {
		t.Skipf("no network interfaces: %v", err)
	}
	name := ifaces[0].Name

	c := &Config{}
	if iface, err := c.NetworkInterface(); iface != nil || err != nil {
		t.Errorf("NetworkInterface() unset = %v, %v, want nil, nil", iface, err)
	}
	if iface, err := c.MDNSNetworkInterface(); iface != nil || err != nil {
		t.Errorf("MDNSNetworkInterface() unset = %v, %v, want nil, nil", iface, err)
	}

	c.Interface = name
	if iface, err := c.NetworkInterface(); err != nil || iface.Name != name {
		t.Errorf("NetworkInterface() = %v, %v, want %s", iface, err, name)
	}
	if iface, err := c.MDNSNetworkInterface(); err != nil || iface.Name != name {
		t.Errorf("MDNSNetworkInterface() falls back to Interface = %v, %v, want %s", iface, err, name)
	}

	c.MDNS.Interface = "no-such-if0"
	if _, err := c.MDNSNetworkInterface(); err == nil {
		t.Errorf("MDNSNetworkInterface(%s) error = nil, want an error", c.MDNS.Interface)
	}
	c.Interface = "no-such-if0"
	_, err = c.NetworkInterface()
	if want := "route ip+net: no such network interface"; err == nil || err.Error() != want {
		t.Errorf("NetworkInterface(%s) error = %v, want %q", c.Interface, err, want)
	}
}

func FuzzDecodeConfig(f *testing.F) {
	full, err := os.ReadFile(filepath.Join("testdata", "config", "full.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(full)
	for _, s := range []string{
		`{}`, `null`, `[]`, `{"tags": {"a": "b"}}`, `{"mdns": {"interface": "x"}}`,
		`{"retry_interval": "1h"}`, `{"protocol": -1e300}`, `{"start_join": [null]}`,
		`{"tags": null, "mdns": null}`, `{"event_handlers": ["user:x=y"]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := DecodeConfig(bytes.NewReader(data))
		if err != nil {
			return
		}
		if err := c.CheckDurations(); err != nil {
			t.Fatalf("decoded config has a bad duration: %v", err)
		}
		before := mustJSON(t, c)

		merged := MergeConfig(DefaultConfig(), c)
		for _, name := range unsetPointers(reflect.ValueOf(merged).Elem()) {
			t.Errorf("MergeConfig(DefaultConfig(), c).%s = nil", name)
		}
		// Merging is idempotent on its own output and leaves c alone.
		once := MergeConfig(nil, c)
		if twice := MergeConfig(nil, once); !reflect.DeepEqual(once, twice) {
			t.Errorf("MergeConfig(nil, MergeConfig(nil, c)) =\n%s\nwant\n%s", mustJSON(t, twice), mustJSON(t, once))
		}
		if after := mustJSON(t, c); after != before {
			t.Errorf("MergeConfig changed its input:\n%s\nwas\n%s", after, before)
		}
		for k, v := range c.Tags {
			if merged.Tags[k] != v {
				t.Errorf("merged Tags[%q] = %q, want %q", k, merged.Tags[k], v)
			}
		}
		if len(merged.EventHandlers) != len(c.EventHandlers) {
			t.Errorf("merged EventHandlers = %q, want %q", merged.EventHandlers, c.EventHandlers)
		}
		_ = merged.RetryInterval() + merged.BroadcastTimeout() + merged.ReconnectInterval()
	})
}

// gossipSetupOf loads c and builds the gossip setup from it, failing
// the test on an error from either.
func gossipSetupOf(t *testing.T, c *Config) *gossipSetup {
	t.Helper()
	conf, _, err := LoadConfig(c, nil)
	if err != nil {
		t.Fatalf("LoadConfig() error: %v", err)
	}
	g, _, err := newGossipSetup(conf)
	if err != nil {
		t.Fatalf("newGossipSetup(bind %s) error: %v", conf.BindAddr, err)
	}
	return g
}

// loadError is a config LoadConfig must refuse, with the error it gives.
type loadError struct {
	conf Config
	want string
}

// checkLoadErrors loads each case's config, named "bad", and checks that
// LoadConfig fails with exactly the case's message.
func checkLoadErrors(t *testing.T, tests []loadError) {
	t.Helper()
	for _, tt := range tests {
		c := tt.conf
		c.NodeName = "bad"
		_, _, err := LoadConfig(&c, nil)
		if err == nil || err.Error() != tt.want {
			t.Errorf("LoadConfig(%+v) error = %v, want %q", tt.conf, err, tt.want)
		}
	}
}

// The tuning keys override the profile's values, and only the ones set.
func TestGossipTuningApplies(t *testing.T) {
	ml := gossipSetupOf(t, &Config{
		NodeName:                "tuned",
		Profile:                 "wan",
		GossipIntervalRaw:       "100ms",
		GossipNodes:             5,
		GossipToTheDeadTimeRaw:  "0s",
		ProbeIntervalRaw:        "2s",
		ProbeTimeoutRaw:         "1500ms",
		SuspicionMult:           3,
		SuspicionMaxTimeoutMult: 2,
		RetransmitMult:          6,
		PushPullIntervalRaw:     "45s",
		TCPTimeoutRaw:           "4s",
		UDPBufferSize:           8192,
	}).serf.MemberlistConfig
	want := memberlist.DefaultWANConfig()
	want.GossipInterval, want.GossipNodes, want.GossipToTheDeadTime = 100*time.Millisecond, 5, 0
	want.ProbeInterval, want.ProbeTimeout = 2*time.Second, 1500*time.Millisecond
	want.SuspicionMult, want.SuspicionMaxTimeoutMult, want.RetransmitMult = 3, 2, 6
	want.PushPullInterval, want.TCPTimeout, want.UDPBufferSize = 45*time.Second, 4*time.Second, 8192
	got, wantV := reflect.ValueOf(ml).Elem(), reflect.ValueOf(want).Elem()
	for _, name := range []string{
		"GossipInterval", "GossipNodes", "GossipToTheDeadTime", "ProbeInterval", "ProbeTimeout",
		"SuspicionMult", "SuspicionMaxTimeoutMult", "RetransmitMult", "PushPullInterval",
		"TCPTimeout", "UDPBufferSize",
		// Not a tuning key: stays the profile's.
		"IndirectChecks",
	} {
		if g, w := got.FieldByName(name).Interface(), wantV.FieldByName(name).Interface(); g != w {
			t.Errorf("%s = %v, want %v", name, g, w)
		}
	}

	// Nothing set: the profile as it is.
	local := memberlist.DefaultLocalConfig()
	ml = gossipSetupOf(t, &Config{NodeName: "plain", Profile: "local"}).serf.MemberlistConfig
	if ml.ProbeInterval != local.ProbeInterval || ml.GossipNodes != local.GossipNodes ||
		ml.UDPBufferSize != local.UDPBufferSize {
		t.Errorf("untuned local profile changed: probe %v, nodes %d, udp %d", ml.ProbeInterval, ml.GossipNodes, ml.UDPBufferSize)
	}
}

// A value out of bounds stops the agent with the key and the bound.
func TestGossipTuningErrors(t *testing.T) {
	checkLoadErrors(t, []loadError{
		{Config{GossipIntervalRaw: "0s"}, "Invalid gossip tuning: gossip_interval must be at least 1ms, not 0s"},
		{Config{GossipNodes: -1}, "Invalid gossip tuning: gossip_nodes must be at least 1, not -1"},
		{Config{GossipToTheDeadTimeRaw: "-1s"}, "Invalid gossip tuning: gossip_to_the_dead_time must be at least 0s, not -1s"},
		{Config{ProbeIntervalRaw: "500us"}, "Invalid gossip tuning: probe_interval must be at least 1ms, not 500µs"},
		{Config{ProbeTimeoutRaw: "2s"}, "Invalid gossip tuning: probe_timeout (2s) must not exceed probe_interval (1s)"},
		{Config{ProbeIntervalRaw: "100ms"}, "Invalid gossip tuning: probe_timeout (500ms) must not exceed probe_interval (100ms)"},
		{Config{SuspicionMult: -4}, "Invalid gossip tuning: suspicion_mult must be at least 1, not -4"},
		{Config{SuspicionMaxTimeoutMult: -1}, "Invalid gossip tuning: suspicion_max_timeout_mult must be at least 1, not -1"},
		{Config{RetransmitMult: -2}, "Invalid gossip tuning: retransmit_mult must be at least 1, not -2"},
		{Config{PushPullIntervalRaw: "-5s"}, "Invalid gossip tuning: push_pull_interval must be at least 0s, not -5s"},
		{Config{TCPTimeoutRaw: "0s"}, "Invalid gossip tuning: tcp_timeout must be at least 1ms, not 0s"},
		{Config{UDPBufferSize: 100}, "Invalid gossip tuning: udp_buffer_size must be at least 512, not 100"},
		{Config{UDPBufferSize: 70000}, "Invalid gossip tuning: udp_buffer_size must be at most 65507, not 70000"},
	})
}

// The label, the encryption checks and the gossip allow-list reach
// memberlist's configuration; unset, memberlist's defaults stay.
func TestGossipGuardsApply(t *testing.T) {
	ml := gossipSetupOf(t, &Config{
		NodeName:              "guarded",
		Label:                 "prod-east",
		EncryptVerifyIncoming: valuePtr(false),
		EncryptVerifyOutgoing: valuePtr(false),
		GossipAllowedCIDRs:    []string{"10.0.0.0/8", "fd00::/8"},
	}).serf.MemberlistConfig
	_, ten, _ := net.ParseCIDR("10.0.0.0/8")
	_, fd, _ := net.ParseCIDR("fd00::/8")
	if ml.Label != "prod-east" || ml.GossipVerifyIncoming || ml.GossipVerifyOutgoing ||
		!reflect.DeepEqual(ml.CIDRsAllowed, []net.IPNet{*ten, *fd}) {
		t.Errorf("memberlist Label %q, GossipVerifyIncoming %v, GossipVerifyOutgoing %v, CIDRsAllowed %v; "+
			"want prod-east, false, false, [%v %v]", ml.Label, ml.GossipVerifyIncoming, ml.GossipVerifyOutgoing,
			ml.CIDRsAllowed, ten, fd)
	}

	ml = gossipSetupOf(t, &Config{NodeName: "plain"}).serf.MemberlistConfig
	if ml.Label != "" || !ml.GossipVerifyIncoming || !ml.GossipVerifyOutgoing || ml.CIDRsAllowed != nil {
		t.Errorf("default memberlist Label %q, GossipVerifyIncoming %v, GossipVerifyOutgoing %v, CIDRsAllowed %v; "+
			"want none, true, true, nil", ml.Label, ml.GossipVerifyIncoming, ml.GossipVerifyOutgoing, ml.CIDRsAllowed)
	}
}

// A label too long for memberlist or a network that does not parse stops
// the agent at start, with the key.
func TestGossipGuardsErrors(t *testing.T) {
	checkLoadErrors(t, []loadError{
		{Config{Label: strings.Repeat("x", 256)}, "Invalid label: label must be at most 255 bytes, not 256"},
		{Config{GossipAllowedCIDRs: []string{"10.0.0.0/8", "10.0.0.1"}},
			`Invalid gossip_allowed_cidrs: "10.0.0.1" is not a network in CIDR notation (such as 10.0.0.0/8)`},
		{Config{RPCAllowedCIDRs: []string{"127.0.0.0/33"}},
			`Invalid rpc_allowed_cidrs: "127.0.0.0/33" is not a network in CIDR notation (such as 10.0.0.0/8)`},
		{Config{HTTPAllowedCIDRs: []string{"lan"}},
			`Invalid http_allowed_cidrs: "lan" is not a network in CIDR notation (such as 10.0.0.0/8)`},
	})
	if _, _, err := LoadConfig(&Config{NodeName: "max", Label: strings.Repeat("x", memberlist.LabelMaxSize)}, nil); err != nil {
		t.Errorf("LoadConfig() with a %d-byte label: %v", memberlist.LabelMaxSize, err)
	}
}

// The healing keys reach the library's config; unset ones keep its
// defaults, and without heal_interval healing stays off.
func TestHealKeysApply(t *testing.T) {
	tests := []struct {
		name string
		conf Config
		want healSettings
	}{
		{"off by default", Config{}, healSettings{}},
		{"off ignores the rest", Config{HealIntervalRaw: "0s", HealMaxPeers: 5}, healSettings{}},
		{"defaults", Config{HealIntervalRaw: "30s"},
			healSettings{30 * time.Second, DefaultHealMaxInterval, DefaultHealJitter, DefaultHealMaxPeers}},
		{"unset cap follows a long interval", Config{HealIntervalRaw: "10m"},
			healSettings{10 * time.Minute, 10 * time.Minute, DefaultHealJitter, DefaultHealMaxPeers}},
		{"all set", Config{HealIntervalRaw: "1s", HealMaxIntervalRaw: "1m", HealJitter: valuePtr(0.0), HealMaxPeers: 8},
			healSettings{time.Second, time.Minute, 0, 8}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.conf
			c.NodeName = "healer"
			sc := gossipSetupOf(t, &c).serf
			got := healSettings{sc.HealInterval, sc.HealMaxInterval, sc.HealJitter, sc.HealMaxPeers}
			want := tc.want
			if want.interval == 0 {
				// Off: the library's defaults stay as they are.
				want = healSettings{0, DefaultHealMaxInterval, DefaultHealJitter, DefaultHealMaxPeers}
			}
			if got != want {
				t.Errorf("serf config healing = %+v, want %+v", got, want)
			}
			if err := sc.Validate(); err != nil {
				t.Errorf("serf config Validate() = %v", err)
			}
		})
	}
}

// A value out of bounds stops the agent with the key and the bound.
func TestHealKeyErrors(t *testing.T) {
	checkLoadErrors(t, []loadError{
		{Config{HealIntervalRaw: "1m", HealMaxIntervalRaw: "30s"},
			"Invalid healing: heal_max_interval (30s) must be at least heal_interval (1m0s)"},
		{Config{HealIntervalRaw: "1m", HealJitter: valuePtr(1.0)},
			"Invalid healing: heal_jitter must be at least 0 and below 1, not 1"},
		{Config{HealIntervalRaw: "1m", HealJitter: valuePtr(-0.5)},
			"Invalid healing: heal_jitter must be at least 0 and below 1, not -0.5"},
		{Config{HealIntervalRaw: "1m", HealMaxPeers: -1},
			"Invalid healing: heal_max_peers must be at least 1, not -1"},
	})
}

// The durations are checked as they are decoded, naming the key.
func TestHealDurationsDecode(t *testing.T) {
	for key, want := range map[string]string{
		"heal_interval":     `heal_interval: time: invalid duration "soon"`,
		"heal_max_interval": `heal_max_interval: time: invalid duration "soon"`,
	} {
		c := &Config{}
		switch key {
		case "heal_interval":
			c.HealIntervalRaw = "soon"
		case "heal_max_interval":
			c.HealMaxIntervalRaw = "soon"
		}
		if err := c.CheckDurations(); err == nil || err.Error() != want {
			t.Errorf("CheckDurations() with %s = %v, want %q", key, err, want)
		}
	}
}

// The UI is served on the HTTP listener: asking for it without one is an
// error that says what to set.
func TestLoadConfigUINeedsHTTPAddr(t *testing.T) {
	on := true
	_, _, err := LoadConfig(&Config{NodeName: "a", UI: &on}, nil)
	if err == nil || !strings.Contains(err.Error(), "http_addr") {
		t.Errorf("LoadConfig(ui without http_addr) error = %v, want one naming http_addr", err)
	}
	conf, _, err := LoadConfig(&Config{NodeName: "a", UI: &on, HTTPAddr: "127.0.0.1:0"}, nil)
	if err != nil || !*conf.UI {
		t.Errorf("LoadConfig(ui with http_addr) = %v, %v; want UI on, no error", conf, err)
	}
}
