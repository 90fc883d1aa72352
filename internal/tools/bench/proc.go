package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTicks is the unit of utime and stime in /proc/PID/stat
// (sysconf(_SC_CLK_TCK)); it is 100 on every Linux architecture Go
// supports, and reading it properly would need cgo.
const clockTicks = 100

// Memory is what /proc/PID/status says about a process's resident
// memory, in bytes.
type Memory struct {
	VmRSS   uint64 // all resident pages, shared ones (the binary) included
	RssAnon uint64 // private anonymous pages: heap, stacks
}

// ParseStatus reads VmRSS and RssAnon from the text of /proc/PID/status.
// Both must be present.
func ParseStatus(data []byte) (Memory, error) {
	var (
		m             Memory
		hasRSS, hasAn bool
	)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var dst *uint64
		switch key {
		case "VmRSS":
			dst, hasRSS = &m.VmRSS, true
		case "RssAnon":
			dst, hasAn = &m.RssAnon, true
		default:
			continue
		}
		n, err := parseKB(value)
		if err != nil {
			return Memory{}, fmt.Errorf("status %s: %w", key, err)
		}
		*dst = n
	}
	if !hasRSS || !hasAn {
		return Memory{}, fmt.Errorf("status: VmRSS or RssAnon missing")
	}
	return m, nil
}

// parseKB parses "   1600 kB" into bytes.
func parseKB(s string) (uint64, error) {
	fields := strings.Fields(s)
	if len(fields) != 2 || fields[1] != "kB" {
		return 0, fmt.Errorf("value %q, want \"<n> kB\"", strings.TrimSpace(s))
	}
	n, err := strconv.ParseUint(fields[0], 10, 64)
	if err != nil {
		return 0, err
	}
	return n * 1024, nil
}

// ParseStat returns the CPU time a process has used (utime+stime, its own
// threads only, not waited-for children) from the text of /proc/PID/stat.
// The command name in parentheses may hold spaces and parentheses, so the
// fields are counted from the last ')'.
func ParseStat(data []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat: no ')' after the command name")
	}
	// After ")": state is field 3 of the whole line; utime and stime are
	// fields 14 and 15, so indexes 11 and 12 here.
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("stat: %d fields after the command name, want at least 13", len(fields))
	}
	var ticks uint64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("stat: utime/stime %q: %w", f, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// ReadMemory reads /proc/pid/status.
func ReadMemory(pid int) (Memory, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, err
	}
	return ParseStatus(data)
}

// ReadCPU reads the CPU time a process has used so far. It sums the
// nanosecond run times of its threads from /proc/PID/task/*/schedstat:
// an idle agent uses a few milliseconds a second, which /proc/PID/stat's
// 10ms clock ticks would round to nothing or to double. Where schedstat
// is missing (a kernel without schedstats) it falls back to
// /proc/PID/stat.
func ReadCPU(pid int) (time.Duration, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err == nil && len(tasks) > 0 {
		var total time.Duration
		ok := true
		for _, path := range tasks {
			data, err := os.ReadFile(path)
			if err != nil {
				// A thread that exited between the listing and the read.
				continue
			}
			d, err := ParseSchedstat(data)
			if err != nil {
				ok = false
				break
			}
			total += d
		}
		if ok {
			return total, nil
		}
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return ParseStat(data)
}

// ParseSchedstat returns the time on CPU, the first of the three numbers
// of /proc/PID/task/TID/schedstat, in nanoseconds.
func ParseSchedstat(data []byte) (time.Duration, error) {
	fields := strings.Fields(string(data))
	if len(fields) != 3 {
		return 0, fmt.Errorf("schedstat: %d fields, want 3", len(fields))
	}
	n, err := strconv.ParseUint(fields[0], 10, 63)
	if err != nil {
		return 0, fmt.Errorf("schedstat: run time %q: %w", fields[0], err)
	}
	return time.Duration(n), nil
}
