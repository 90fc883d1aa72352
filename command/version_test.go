package command

import (
	"testing"

	"github.com/hashicorp/cli"
)

func TestHumanVersion(t *testing.T) {
	tests := []struct {
		name, version, prerelease, commit string
		want                              string
	}{
		{"release", "1.2.3", "", "", "1.2.3"},
		{"prerelease", "1.2.3", "dev", "", "1.2.3-dev"},
		{"prerelease with commit", "1.2.3", "dev", "abc1234", "1.2.3-dev (abc1234)"},
		{"release with commit", "1.2.3", "", "abc1234", "1.2.3 (abc1234)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setVersion(t, tt.version, tt.prerelease, tt.commit)
			if got := HumanVersion(); got != tt.want {
				t.Errorf("HumanVersion() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestVersionCommand(t *testing.T) {
	setVersion(t, "0.1.0", "dev", "")
	ui := cli.NewMockUi()
	c := &VersionCommand{UI: ui}

	// Arguments are ignored: main prepends "version" to any argv holding -v.
	if code := c.Run([]string{"members", "-v"}); code != 0 {
		t.Fatalf("Run() = %d, want 0", code)
	}
	const want = "0.1.0-dev\nAgent Protocol: 5 (Understands back to: 2)\n"
	if got := ui.OutputWriter.String(); got != want {
		t.Errorf("output = %q, want %q", got, want)
	}
	if got := ui.ErrorWriter.String(); got != "" {
		t.Errorf("error output = %q, want empty", got)
	}
	if got := c.Help(); got != "" {
		t.Errorf("Help() = %q, want empty", got)
	}
	if got, want := c.Synopsis(), "Prints the Serf version"; got != want {
		t.Errorf("Synopsis() = %q, want %q", got, want)
	}
}

func TestCommandsHasVersion(t *testing.T) {
	cmds := Commands(cli.NewMockUi())
	f, ok := cmds["version"]
	if !ok {
		t.Fatalf("Commands() has no %q entry", "version")
	}
	c, err := f()
	if err != nil {
		t.Fatalf("version factory: %v", err)
	}
	if _, ok := c.(*VersionCommand); !ok {
		t.Errorf("version factory returned %T, want *VersionCommand", c)
	}
	if _, ok := cmds["help"]; ok {
		t.Errorf("Commands() has a %q entry; Serf has none", "help")
	}
}

// setVersion sets the build identity for one test and restores it after.
func setVersion(tb testing.TB, version, prerelease, commit string) {
	tb.Helper()
	oldV, oldP, oldC := Version, VersionPrerelease, GitCommit
	tb.Cleanup(func() { Version, VersionPrerelease, GitCommit = oldV, oldP, oldC })
	Version, VersionPrerelease, GitCommit = version, prerelease, commit
}
