package sim

import (
	"syscall"
	"time"
)

// wallClock reads the real time even inside a synctest bubble, where
// time.Now is virtual: gettimeofday is a system call the bubble does not
// intercept. It is used only to report how long a run took.
func wallClock() time.Time {
	var tv syscall.Timeval
	if err := syscall.Gettimeofday(&tv); err != nil {
		return time.Time{}
	}
	return time.Unix(tv.Unix())
}
