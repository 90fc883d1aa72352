//go:build linux

package agent

import (
	"strconv"

	"golang.org/x/sys/unix"
)

// monotonicUsec is CLOCK_MONOTONIC in microseconds, as systemd wants it
// beside RELOADING=1; "" if the clock cannot be read.
func monotonicUsec() string {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return ""
	}
	return strconv.FormatInt(ts.Nano()/1000, 10)
}
