package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openserf/serf/command"
	"github.com/openserf/serf/internal/testutil/agentproc"
	"github.com/openserf/serf/internal/testutil/serfbin"
)

func TestMain(m *testing.M) {
	os.Exit(serfbin.Main(m))
}

func TestVersionArgs(t *testing.T) {
	tests := []struct {
		args, want []string
	}{
		{nil, nil},
		{[]string{"members"}, []string{"members"}},
		{[]string{"-v"}, []string{"version", "-v"}},
		{[]string{"--version"}, []string{"version", "--version"}},
		{[]string{"members", "-v"}, []string{"version", "members", "-v"}},
		{[]string{"members", "-verbose"}, []string{"members", "-verbose"}},
	}
	for _, tt := range tests {
		if got := versionArgs(tt.args); !slices.Equal(got, tt.want) {
			t.Errorf("versionArgs(%q) = %q, want %q", tt.args, got, tt.want)
		}
	}
}

// TestBinary builds the real binary and checks what a shell sees: stdout,
// stderr and exit codes.
func TestBinary(t *testing.T) {
	bin := serfbin.Path(t)
	wantVersion := command.HumanVersion() + "\nAgent Protocol: 5 (Understands back to: 2)\n"
	const usageLine = "Usage: serf [--version] [--help] <command> [<args>]\n"

	tests := []struct {
		name        string
		args        []string
		code        int
		stdout      string
		stderrStart string // prefix of stderr; "" means stderr must be empty
	}{
		{"version", []string{"version"}, 0, wantVersion, ""},
		{"short flag", []string{"-v"}, 0, wantVersion, ""},
		{"long flag", []string{"--version"}, 0, wantVersion, ""},
		{"flag after command", []string{"members", "-v"}, 0, wantVersion, ""},
		{"no arguments", nil, 127, "", usageLine},
		{"help", []string{"--help"}, 0, "", usageLine},
		{"short help", []string{"-h"}, 0, "", usageLine},
		{"unknown command", []string{"bogus"}, 127, "", usageLine},
		{"help is not a command", []string{"help"}, 127, "", usageLine},
		{"version help", []string{"version", "-h"}, 0, "", "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runSerf(t, bin, tt.args...)
			if code != tt.code {
				t.Errorf("serf %q exit code = %d, want %d", tt.args, code, tt.code)
			}
			if stdout != tt.stdout {
				t.Errorf("serf %q stdout = %q, want %q", tt.args, stdout, tt.stdout)
			}
			if tt.stderrStart == "" && stderr != "" {
				t.Errorf("serf %q stderr = %q, want empty", tt.args, stderr)
			}
			if !strings.HasPrefix(stderr, tt.stderrStart) {
				t.Errorf("serf %q stderr = %q, want it to start with %q", tt.args, stderr, tt.stderrStart)
			}
		})
	}

	t.Run("usage lists commands", func(t *testing.T) {
		_, stderr, _ := runSerf(t, bin)
		// Serf 0.11.0's usage, byte for byte: the same commands with the
		// same synopses.
		want := usageLine + "\nAvailable commands are:\n" +
			"    agent           Runs a Serf agent\n" +
			"    event           Send a custom event through the Serf cluster\n" +
			"    force-leave     Forces a member of the cluster to enter the \"left\" state\n" +
			"    info            Provides debugging information for operators\n" +
			"    join            Tell Serf agent to join cluster\n" +
			"    keygen          Generates a new encryption key\n" +
			"    keys            Manipulate the internal encryption keyring used by Serf\n" +
			"    leave           Gracefully leaves the Serf cluster and shuts down\n" +
			"    members         Lists the members of a Serf cluster\n" +
			"    monitor         Stream logs from a Serf agent\n" +
			"    query           Send a query to the Serf cluster\n" +
			"    reachability    Test network reachability\n" +
			"    rtt             Estimates network round trip time between nodes\n" +
			"    tags            Modify tags of a running Serf agent\n" +
			"    version         Prints the Serf version\n\n"
		if stderr != want {
			t.Errorf("usage = %q, want %q", stderr, want)
		}
	})
}

// TestBinaryGitCommit checks that the commit set with -ldflags -X, as the
// Makefile does, shows on the version line.
func TestBinaryGitCommit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary a second time")
	}
	bin, err := serfbin.Build(t.TempDir(), serfbin.Options{
		Race:  serfbin.Race,
		Flags: []string{"-ldflags", "-X github.com/openserf/serf/command.GitCommit=abc1234"},
	})
	if err != nil {
		t.Fatal(err)
	}
	stdout, _, code := runSerf(t, bin, "version")
	if code != 0 {
		t.Fatalf("serf version exit code = %d, want 0", code)
	}
	line, _, _ := strings.Cut(stdout, "\n")
	if want := command.HumanVersion() + " (abc1234)"; line != want {
		t.Errorf("version line = %q, want %q", line, want)
	}
}

// runSerf runs bin with args and returns its stdout, stderr and exit code.
func runSerf(tb testing.TB, bin string, args ...string) (stdout, stderr string, code int) {
	tb.Helper()
	var outBuf, errBuf bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout = &outBuf
	cmd.Stderr = &errBuf
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	default:
		tb.Fatalf("run serf %q: %v", args, err)
	}
	return outBuf.String(), errBuf.String(), code
}

// TestAutocompleteInstall installs and removes shell completion the way a
// user does and checks what bash then knows. The installer finds the home
// in /etc/passwd, so the binary runs in a mount namespace of its own where
// /etc/passwd gives root the test's directory as home.
func TestAutocompleteInstall(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, for a mount namespace with an /etc/passwd of its own")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("unshare not installed (util-linux)")
	}
	bin := serfbin.Path(t)
	home := t.TempDir()
	passwd := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(passwd, []byte("root:x:0:0:root:"+home+":/bin/bash\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bashrc := filepath.Join(home, ".bashrc")
	zshrc := filepath.Join(home, ".zshrc")
	for _, rc := range []string{bashrc, zshrc} {
		if err := os.WriteFile(rc, []byte("# the user's own line\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) (string, int) {
		t.Helper()
		script := `mount --bind "$1" /etc/passwd && shift && exec "$@"`
		cmd := exec.Command(unshare, append([]string{"--mount", "--propagation", "private", "sh", "-c", script, "sh", passwd, bin}, args...)...)
		cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home)
		out, err := cmd.CombinedOutput()
		code := 0
		if exitErr, ok := err.(*exec.ExitError); ok {
			code = exitErr.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	read := func(path string) string {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	if out, code := run("-autocomplete-install"); code != 0 {
		t.Fatalf("serf -autocomplete-install = %d, %q; want 0", code, out)
	}
	line := "complete -C " + bin + " serf"
	if got := read(bashrc); !strings.Contains(got, line) || !strings.HasPrefix(got, "# the user's own line\n") {
		t.Errorf(".bashrc after install = %q, want the user's line kept and %q added", got, line)
	}
	if got := read(zshrc); !strings.Contains(got, "bashcompinit") || !strings.Contains(got, "-C "+bin+" serf") {
		t.Errorf(".zshrc after install = %q, want bashcompinit and the complete line", got)
	}

	// A second install says so and changes nothing.
	before := read(bashrc)
	if out, code := run("-autocomplete-install"); code != 1 || !strings.Contains(out, "already installed") {
		t.Errorf("second install = %d, %q; want 1 and \"already installed\"", code, out)
	}
	if got := read(bashrc); got != before {
		t.Errorf(".bashrc changed by the second install: %q", got)
	}

	// A real bash that reads the file completes serf with the binary.
	if bash, err := exec.LookPath("bash"); err == nil {
		out, err := exec.Command(bash, "-c", "source "+bashrc+" && complete -p serf").CombinedOutput()
		if want := "complete -C '" + bin + "' serf"; err != nil || strings.TrimSpace(string(out)) != want {
			t.Errorf("bash: complete -p serf = %q, %v; want %q", out, err, want)
		}
	}

	if out, code := run("-autocomplete-uninstall"); code != 0 {
		t.Fatalf("serf -autocomplete-uninstall = %d, %q; want 0", code, out)
	}
	for _, rc := range []string{bashrc, zshrc} {
		// The zsh installer leaves bashcompinit on, which other
		// completions may rely on too.
		if got := read(rc); !strings.HasPrefix(got, "# the user's own line\n") || strings.Contains(got, bin) {
			t.Errorf("%s after uninstall = %q, want the user's line and no mention of the binary", filepath.Base(rc), got)
		}
	}
}

// TestAutocompleteCommands checks the answers a shell gets when it asks
// the binary to complete a command line (COMP_LINE, as bash sets it).
func TestAutocompleteCommands(t *testing.T) {
	bin := serfbin.Path(t)
	complete := func(line string) []string {
		t.Helper()
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "COMP_LINE="+line, "COMP_POINT="+strconv.Itoa(len(line)))
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("complete %q: %v", line, err)
		}
		words := strings.Fields(string(out))
		slices.Sort(words)
		return words
	}
	tests := []struct {
		line string
		want []string
	}{
		{"serf mem", []string{"members"}},
		{"serf re", []string{"reachability"}},
		{"serf k", []string{"keygen", "keys"}},
		{"serf -auto", []string{"-autocomplete-install", "-autocomplete-uninstall"}},
	}
	for _, tt := range tests {
		if got := complete(tt.line); !slices.Equal(got, tt.want) {
			t.Errorf("completions of %q = %q, want %q", tt.line, got, tt.want)
		}
	}
	if got := complete("serf "); len(got) != 15 || !slices.Contains(got, "agent") {
		t.Errorf("completions of %q = %q, want the 15 commands", "serf ", got)
	}
}

// TestAgentThreadCount checks that the agent runs Go code on one thread
// unless GOMAXPROCS in its environment says otherwise (package oneproc).
func TestAgentThreadCount(t *testing.T) {
	bin := serfbin.Path(t)
	for _, tt := range []struct {
		name, env, want string
	}{
		{"default", "", "1"},
		{"from the environment", "GOMAXPROCS=2", "2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var o agentproc.Options
			if tt.env != "" {
				o.Env = []string{tt.env}
			} else if os.Getenv("GOMAXPROCS") != "" {
				t.Skip("GOMAXPROCS is set for the tests, and the agent inherits it")
			}
			a := agentproc.StartWith(t, bin, o, "-node=procs")
			a.WaitRPC(30 * time.Second)
			out := a.MustCLI("info")
			if !strings.Contains(out, "\tmax_procs = "+tt.want+"\n") {
				t.Errorf("serf info shows no max_procs = %s:\n%s", tt.want, out)
			}
		})
	}
}

// TestThreadCountSetEarly checks that package oneproc is initialised
// before the packages whose initialisers allocate the most, as its
// saving depends on it (oneproc.go).
func TestThreadCountSetEarly(t *testing.T) {
	bin := serfbin.Path(t)
	cmd := exec.Command(bin, "version")
	cmd.Env = append(agentproc.CLIEnv(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("serf version: %v\n%s", err, out)
	}
	order := map[string]int{}
	for i, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "init" {
			order[f[1]] = i
		}
	}
	early, ok := order["github.com/openserf/serf/cmd/serf/internal/oneproc"]
	if !ok {
		t.Fatalf("no init line of oneproc:\n%s", out)
	}
	for _, later := range []string{"github.com/Masterminds/semver/v3", "github.com/prometheus/client_golang/prometheus", "github.com/hashicorp/memberlist"} {
		if i, ok := order[later]; ok && i < early {
			t.Errorf("%s is initialised before oneproc", later)
		}
	}
}
