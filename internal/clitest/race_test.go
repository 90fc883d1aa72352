//go:build race

package clitest

// raceEnabled builds our serf with -race too, so that data races in the
// agent show up in these runs.
const raceEnabled = true
