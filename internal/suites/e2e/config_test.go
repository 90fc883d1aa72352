package e2e

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// configCase is one agent configuration, good or bad, given as a config
// file and/or flags. In files and flags, <dir> stands for a scratch
// directory and <path> for the config file's path.
type configCase struct {
	name    string
	file    string            // content of <dir>/serf.json, passed with -config-file
	noFile  bool              // pass -config-file=<dir>/missing.json instead
	files   map[string]string // more files under <dir>
	flags   []string
	ok      bool   // the agent starts
	want    string // ok: its "==> " lines up to "Serf agent running!"; else its whole output
	compare oracleDiff
}

// oracleDiff says how an error may differ between real Serf and ours.
type oracleDiff int

const (
	// The zero value: the texts are the same.
	_ oracleDiff = iota
	// decodeText: v0.10.2's mapstructure words decode errors its own way;
	// only the "Error decoding '<path>': " prefix is shared.
	decodeText
	// durationKey: ours names the key in a bad duration error
	// (docs/compatibility.md).
	durationKey
)

const startedLines = "==> Starting Serf agent...\n==> Starting Serf agent RPC...\n==> Serf agent running!\n"

var configCases = []configCase{
	// Accepted.
	{
		name: "seed config file",
		file: `{
  "role": "load-balancer",

  "event_handlers": [
    "member_join.sh",
    "user:deploy=foo.sh"
  ]
}`,
		ok:   true,
		want: "==> Deprecation warning: 'Role' has been replaced with 'Tags'\n" + startedLines,
	},
	{
		name: "low timers",
		file: `{"retry_interval": "500ms", "broadcast_timeout": "100ms", "rejoin_after_leave": true}`,
		ok:   true,
		want: "==> Warning: 'RetryInterval' is too low. Setting to 1s\n" +
			"==> Warning: 'BroadcastTimeout' is too low. Setting to 1s\n" +
			"==> Warning: 'RejoinAfterLeave' enabled without snapshot file\n" + startedLines,
	},
	{
		name: "many keys",
		file: `{"tags": {"a": "b"}, "log_level": "debug", "reconnect_interval": "10s",
 "reconnect_timeout": "1h", "tombstone_timeout": "2h", "leave_on_terminate": true,
 "skip_leave_on_interrupt": true, "query_size_limit": 2048, "query_response_size_limit": 2048,
 "user_event_size_limit": 1024, "disable_coordinates": true, "disable_name_resolution": true,
 "replay_on_join": true, "protocol": 4, "mdns": {"disable_ipv6": true},
 "syslog_facility": "LOCAL3", "validate_node_names": true, "retry_max_attempts": 3,
 "snapshot_path": "<dir>/snapshot", "start_join": [], "retry_join": []}`,
		ok:   true,
		want: startedLines,
	},
	{
		name: "keys in another case",
		file: `{"LOG_LEVEL": "warn", "Tags": {"x": "y"}}`,
		ok:   true,
		want: startedLines,
	},
	{
		name: "config dir",
		files: map[string]string{
			"conf.d/a.json":      `{"tags": {"x": "1"}}`,
			"conf.d/b.json":      `{"log_level": "warn", "tags": {"x": "2"}}`,
			"conf.d/ignored.txt": `not json`,
		},
		flags: []string{"-config-dir=<dir>/conf.d"},
		ok:    true,
		want:  startedLines,
	},

	// Rejected.
	{
		name:    "unknown key",
		file:    `{"bogus_key": 1}`,
		want:    "==> Error decoding '<path>': decoding failed due to the following error(s):\n\n'agent.Config' has invalid keys: bogus_key\n",
		compare: decodeText,
	},
	{
		name: "bad JSON",
		file: `{"node_name": "a",}`,
		want: "==> Error decoding '<path>': invalid character '}' looking for beginning of object key string\n",
	},
	{
		name: "truncated JSON",
		file: `{"node_name": `,
		want: "==> Error decoding '<path>': unexpected EOF\n",
	},
	{
		name: "empty file",
		file: ``,
		want: "==> Error decoding '<path>': EOF\n",
	},
	{
		name:    "JSON array",
		file:    `[]`,
		want:    "==> Error decoding '<path>': '' expected a map or struct, got \"slice\"\n",
		compare: decodeText,
	},
	{
		name:    "wrong type",
		file:    `{"protocol": "5"}`,
		want:    "==> Error decoding '<path>': decoding failed due to the following error(s):\n\n'protocol' expected type 'int', got unconvertible type 'string'\n",
		compare: decodeText,
	},
	{
		name:    "bad duration",
		file:    `{"retry_interval": "xx"}`,
		want:    "==> Error decoding '<path>': retry_interval: time: invalid duration \"xx\"\n",
		compare: durationKey,
	},
	{
		name:   "nonexistent file",
		noFile: true,
		want:   "==> Error reading '<path>': open <path>: no such file or directory\n",
	},
	{
		name: "invalid handler in file",
		file: `{"event_handlers": ["bogus=x.sh"]}`,
		want: "==> Invalid event script: Event 'bogus' invoking 'x.sh'\n",
	},
	{
		name:  "invalid handler flag",
		flags: []string{"-event-handler", "member-join:foo=x.sh"},
		want:  "==> Invalid event script: Event 'member-join:foo' invoking 'x.sh'\n",
	},
	{
		name: "unknown profile in file",
		file: `{"profile": "moon"}`,
		want: "==> Unknown profile: moon\n",
	},
	{
		name:  "unknown profile flag",
		flags: []string{"-profile=moon"},
		want:  "==> Unknown profile: moon\n",
	},
	{
		name: "bad log level",
		file: `{"log_level": "loud"}`,
		want: "==> Invalid log level: LOUD. Valid log levels are: [TRACE DEBUG INFO WARN ERR]\n",
	},
	{
		name: "bad encryption key",
		file: `{"encrypt_key": "!!"}`,
		want: "==> Invalid encryption key: illegal base64 data at input byte 0\n",
	},
	{
		name: "short encryption key",
		file: `{"encrypt_key": "AAAA"}`,
		want: "==> Starting Serf agent...\n==> Failed to start the Serf agent: Error creating Serf: Failed to create memberlist: key size must be 16, 24 or 32 bytes\n",
	},
	{
		name: "protocol too high",
		file: `{"protocol": 9}`,
		want: "==> Starting Serf agent...\n==> Failed to start the Serf agent: Error creating Serf: Protocol version '9' too high. Must be in range: [2, 5]\n",
	},
	{
		name: "tags with tags file",
		file: `{"tags": {"a": "b"}, "tags_file": "<dir>/tags.json"}`,
		want: "==> Starting Serf agent...\n==> Failed to setup the Serf agent: Tags config not allowed while using tag files\n",
	},
	{
		// Ours checks the limit while reading the configuration, before
		// "Starting Serf agent..." (docs/compatibility.md).
		name: "user event size limit",
		file: `{"user_event_size_limit": 10000}`,
		want: "==> Failed to start the Serf agent: Error creating Serf: user event size limit exceeds limit of 9216 bytes\n",
	},
	{
		name:  "mDNS interface without discover",
		flags: []string{"-mdns-iface=lo"},
		want:  "==> mDNS interface specified without enabling mDNS discovery\n",
	},
	{
		name:  "unknown interface",
		flags: []string{"-iface=nosuch0"},
		want:  "==> Invalid network interface: route ip+net: no such network interface\n",
	},
	{
		name:  "bad tag flag",
		flags: []string{"-tag", "novalue"},
		want:  "==> Error: Invalid tag: 'novalue'\n",
	},
	{
		name:  "missing config dir",
		flags: []string{"-config-dir=<dir>/nodir"},
		want:  "==> Error reading '<dir>/nodir': open <dir>/nodir: no such file or directory\n",
	},
	{
		name:  "bad tags file",
		files: map[string]string{"tags.json": `{bad`},
		flags: []string{"-tags-file=<dir>/tags.json"},
		want:  "==> Starting Serf agent...\n==> Failed to setup the Serf agent: Failed to decode tags file: invalid character 'b' looking for beginning of object key string\n",
	},
	{
		name:  "missing keyring file",
		flags: []string{"-keyring-file=<dir>/keyring.json"},
		want:  "==> Starting Serf agent...\n==> Failed to setup the Serf agent: stat <dir>/keyring.json: no such file or directory\n",
	},
	{
		name:  "bad key in keyring file",
		files: map[string]string{"keyring.json": `["!!"]`},
		flags: []string{"-keyring-file=<dir>/keyring.json"},
		want:  "==> Starting Serf agent...\n==> Failed to setup the Serf agent: Failed to decode key from keyring: illegal base64 data at input byte 0\n",
	},
	{
		name:  "empty keyring file",
		files: map[string]string{"keyring.json": `[]`},
		flags: []string{"-keyring-file=<dir>/keyring.json"},
		want:  "==> Starting Serf agent...\n==> Failed to setup the Serf agent: Keyring file contains no keys\n",
	},
	{
		name:  "short key in keyring file",
		files: map[string]string{"keyring.json": `["AAAA"]`},
		flags: []string{"-keyring-file=<dir>/keyring.json"},
		want:  "==> Starting Serf agent...\n==> Failed to setup the Serf agent: Failed to restore keyring: key size must be 16, 24 or 32 bytes\n",
	},
	{
		name:  "keyring file and encryption key",
		files: map[string]string{"keyring.json": `["8VS/gSYks6mz1iIWYg//PM0K+SDxydb+v1gvFWUWy14="]`},
		flags: []string{"-keyring-file=<dir>/keyring.json", "-encrypt=8VS/gSYks6mz1iIWYg//PM0K+SDxydb+v1gvFWUWy14="},
		want:  "==> Starting Serf agent...\n==> Failed to setup the Serf agent: Encryption key not allowed while using a keyring\n",
	},
	{
		name:  "bad advertise port",
		flags: []string{"-advertise=127.0.0.1:xx"},
		want:  "==> Invalid advertise address: lookup tcp/xx: unknown port\n",
	},
	{
		name:  "snapshot in a missing directory",
		flags: []string{"-snapshot=<dir>/nodir/snapshot"},
		want:  "==> Starting Serf agent...\n==> Failed to start the Serf agent: Error creating Serf: Failed to setup snapshot: failed to open snapshot: open <dir>/nodir/snapshot: no such file or directory\n",
	},
	{
		name:  "protocol too low",
		flags: []string{"-protocol=1"},
		want:  "==> Starting Serf agent...\n==> Failed to start the Serf agent: Error creating Serf: Protocol version '1' too low. Must be in range: [2, 5]\n",
	},
	{
		// Flags win over the file, and each run gets its own -rpc-addr.
		name:  "bad RPC address",
		flags: []string{"-rpc-addr=nonsense"},
		want:  "==> Starting Serf agent...\n==> Error starting RPC listener: listen tcp: address nonsense: missing port in address\n",
	},
	{
		name:  "unknown mDNS interface",
		flags: []string{"-discover=x", "-mdns-iface=nosuch0"},
		want:  "==> Invalid mDNS network interface: route ip+net: no such network interface\n",
	},
	{
		name:  "mDNS without IPv4 and IPv6",
		flags: []string{"-discover=x", "-mdns-iface=lo", "-mdns-disable-ipv4", "-mdns-disable-ipv6"},
		want:  "==> Invalid mDNS configuration: both IPv4 and IPv6 are disabled\n",
	},
	{
		name:  "bad broadcast timeout flag",
		flags: []string{"-broadcast-timeout=xx"},
		want:  "==> Error: time: invalid duration \"xx\"\n",
	},
	{
		name:  "bad retry interval flag",
		flags: []string{"-retry-interval=xx"},
		want:  "==> Error: time: invalid duration \"xx\"\n",
	},
}

// configRun is what one agent did with a configCase.
type configRun struct {
	dir     string // the scratch directory, for <dir>
	path    string // the config file's path, for <path>
	started bool
	code    int
	out     string
}

// runConfig starts bin agent with c on fresh addresses and returns once it
// has either exited or printed "Serf agent running!" (and then stops it).
func runConfig(t *testing.T, bin string, c configCase) configRun {
	t.Helper()
	dir := t.TempDir()
	expand := func(s string) string { return strings.ReplaceAll(s, "<dir>", dir) }
	for name, content := range c.files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, path, expand(content))
	}
	a := newAddrs(t, "n1")
	args := a.args()
	run := configRun{dir: dir}
	switch {
	case c.noFile:
		run.path = filepath.Join(dir, "missing.json")
	case c.file != "" || c.flags == nil:
		run.path = filepath.Join(dir, "serf.json")
		writeFile(t, run.path, expand(c.file))
	}
	if run.path != "" {
		args = append(args, "-config-file="+run.path)
	}
	for _, f := range c.flags {
		args = append(args, expand(f))
	}
	p := spawn(t, bin, args...)
	p.Name = c.name
	p.WaitFor(startTimeout, func() error {
		if strings.Contains(p.Output(), "==> Serf agent running!\n") {
			return nil
		}
		select {
		case <-p.Exited():
			return nil
		default:
			return errNotYet
		}
	})
	select {
	case <-p.Exited():
		run.code = p.WaitExit(exitTimeout)
	default:
		run.started = true
	}
	run.out = p.Output()
	p.Stop()
	return run
}

// errNotYet is a wait condition's "keep waiting".
var errNotYet = errors.New("agent neither started nor exited")

// outputLines returns the "==> " lines of out, each with its newline.
func outputLines(out string) string {
	var b strings.Builder
	for line := range strings.Lines(out) {
		if strings.HasPrefix(line, "==> ") {
			b.WriteString(line)
		}
	}
	return b.String()
}

// startLines returns the "==> " lines up to "Serf agent running!".
func startLines(out string) string {
	lines := outputLines(out)
	if i := strings.Index(lines, "==> Serf agent running!\n"); i >= 0 {
		return lines[:i+len("==> Serf agent running!\n")]
	}
	return lines
}

// TestConfigErrors runs our agent with each good and bad configuration:
// bad ones exit 1 with Serf's message and nothing else, good ones start.
func TestConfigErrors(t *testing.T) {
	t.Parallel()
	for _, c := range configCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			run := runConfig(t, serfBin, c)
			want := strings.ReplaceAll(strings.ReplaceAll(c.want, "<path>", run.path), "<dir>", run.dir)
			if c.ok {
				if !run.started {
					t.Fatalf("agent did not start (exit %d):\n%s", run.code, run.out)
				}
				if got := startLines(run.out); got != want {
					t.Errorf("start-up lines:\n%s\nwant:\n%s", got, want)
				}
				return
			}
			if run.started {
				t.Fatalf("agent started, want exit 1 with:\n%s\noutput:\n%s", want, run.out)
			}
			if run.code != 1 {
				t.Errorf("exit code = %d, want 1", run.code)
			}
			if run.out != want {
				t.Errorf("output:\n%q\nwant:\n%q", run.out, want)
			}
		})
	}
}
