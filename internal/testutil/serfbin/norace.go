//go:build !race

package serfbin

// Race tells whether this test binary runs with the race detector; Ours
// then builds with it too.
const Race = false
