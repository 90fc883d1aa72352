package command

import (
	"fmt"

	"github.com/hashicorp/cli"
)

// Build identity. The linker can replace any of these, for example
//
//	go build -ldflags "-X github.com/openserf/serf/command.GitCommit=$(git rev-parse --short HEAD)"
var (
	// Version is the release number of this build.
	Version = "0.1.0"

	// VersionPrerelease marks a build that is not a release, such as "dev"
	// or "rc1". Empty means a release.
	VersionPrerelease = "dev"

	// GitCommit is the commit the binary was built from. Empty when the
	// build did not set it.
	GitCommit string
)

// The agent protocol range printed by the version command. They mirror
// serf.ProtocolVersionMax and serf.ProtocolVersionMin, which this package
// does not import: the commands reach an agent through package client,
// and `serf agent` runs one through package agent. The two numbers are on
// the wire and change only with the protocol (a test checks them).
const (
	protocolMax = 5
	protocolMin = 2
)

// HumanVersion returns the version as people read it: Version, then
// "-" and VersionPrerelease when there is one, then the commit in
// parentheses when it is known. For example "0.1.0-dev (1a2b3c4)".
func HumanVersion() string {
	v := Version
	if VersionPrerelease != "" {
		v += "-" + VersionPrerelease
	}
	if GitCommit != "" {
		v += " (" + GitCommit + ")"
	}
	return v
}

// VersionCommand prints the build version and the agent protocol range.
// It ignores its arguments, which is what lets main turn "-v" anywhere in
// the command line into "version".
type VersionCommand struct {
	UI cli.Ui
}

// Help returns the empty string: the command has no options. Serf prints
// an empty help for "serf version -h" too.
func (c *VersionCommand) Help() string {
	return ""
}

// Synopsis is the line shown next to the command in the top-level usage.
func (c *VersionCommand) Synopsis() string {
	return "Prints the Serf version"
}

// Run prints two lines, the version and the protocol range, and returns 0.
func (c *VersionCommand) Run(_ []string) int {
	c.UI.Output(HumanVersion())
	c.UI.Output(fmt.Sprintf("Agent Protocol: %d (Understands back to: %d)", protocolMax, protocolMin))
	return 0
}
