package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/openserf/serf/internal/testutil/serfbin"
)

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
