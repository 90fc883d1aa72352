package agent

import (
	"os"
	"runtime"
	"strconv"
)

// hostname is os.Hostname, in one place so tests and mDNS agree.
func hostname() (string, error) { return os.Hostname() }

// runtimeStats is the "runtime" section of `serf info`.
func runtimeStats() map[string]string {
	return map[string]string{
		"os":         runtime.GOOS,
		"arch":       runtime.GOARCH,
		"version":    runtime.Version(),
		"max_procs":  strconv.Itoa(runtime.GOMAXPROCS(0)),
		"goroutines": strconv.Itoa(runtime.NumGoroutine()),
		"cpu_count":  strconv.Itoa(runtime.NumCPU()),
	}
}
