//go:build race

package e2e

// raceEnabled builds the agent under test with -race too, so that data
// races in the daemon show up in end-to-end runs.
const raceEnabled = true
