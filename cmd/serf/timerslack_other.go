//go:build !linux

package main

import "time"

// setTimerSlack does nothing where timer slack cannot be set.
func setTimerSlack(time.Duration) {}
