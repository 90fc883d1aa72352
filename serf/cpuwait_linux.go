package serf

import (
	"bytes"
	"os"
	"strconv"
	"time"
)

// runQueueWait returns how long this process's threads have together
// waited for a CPU while runnable: the second field of each thread's
// /proc/self/task/<tid>/schedstat, in nanoseconds. It reports false
// where the kernel keeps no scheduler statistics.
func runQueueWait() (time.Duration, bool) {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil || len(tasks) == 0 {
		return 0, false
	}
	var total int64
	for _, task := range tasks {
		line, err := os.ReadFile("/proc/self/task/" + task.Name() + "/schedstat")
		if err != nil {
			continue // the thread has exited since the listing
		}
		v, ok := parseSchedstat(line)
		if !ok {
			return 0, false
		}
		total += v
	}
	return time.Duration(total), true
}

// parseSchedstat returns the run-queue wait of a schedstat line: "<time
// on a CPU> <time waiting for one> <time slices>", all but the last in
// nanoseconds.
func parseSchedstat(line []byte) (int64, bool) {
	fields := bytes.Fields(line)
	if len(fields) != 3 {
		return 0, false
	}
	v, err := strconv.ParseInt(string(fields[1]), 10, 64)
	if err != nil || v < 0 {
		return 0, false
	}
	return v, true
}
