//go:build !linux

package serf

import "time"

// runQueueWait reports that this system's run-queue statistics are not
// read.
func runQueueWait() (time.Duration, bool) { return 0, false }
