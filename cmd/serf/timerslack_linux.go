package main

import (
	"os"
	"strconv"
	"syscall"
	"time"
)

// prctl's options for the calling thread's timer slack.
const (
	prSetTimerSlack = 29
	prGetTimerSlack = 30
)

// linuxDefaultTimerSlack is the slack every thread starts with unless
// its parent chose another (systemd's TimerSlackNSec=, say).
const linuxDefaultTimerSlack = 50 * time.Microsecond

// setTimerSlack gives every thread of the process a timer slack of d,
// unless the process was started with a slack of its own, which it
// keeps. The calling thread always takes it; the others take it only
// with CAP_SYS_NICE (root has it), which Linux asks of a thread setting
// another's: without it they keep the default. Threads started later
// take the slack of the thread that starts them.
func setTimerSlack(d time.Duration) {
	cur, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prGetTimerSlack, 0, 0)
	if errno != 0 || time.Duration(cur) != linuxDefaultTimerSlack {
		return
	}
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetTimerSlack, uintptr(d.Nanoseconds()), 0); errno != 0 {
		return
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return
	}
	self := strconv.Itoa(syscall.Gettid())
	value := []byte(strconv.FormatInt(d.Nanoseconds(), 10))
	for _, task := range tasks {
		if task.Name() == self {
			continue
		}
		// The per-thread file is /proc/TID/timerslack_ns: Linux lists
		// no such file under /proc/self/task.
		_ = os.WriteFile("/proc/"+task.Name()+"/timerslack_ns", value, 0)
	}
}
