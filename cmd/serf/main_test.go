package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/openserf/serf/command"
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
