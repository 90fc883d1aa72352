package agent

import (
	"runtime"
	"strconv"
)

// Stats is what `serf info` shows.
func (a *Agent) Stats() map[string]map[string]string {
	local := a.serf.LocalMember()
	return map[string]map[string]string{
		"agent":          {"name": local.Name},
		"runtime":        runtimeStats(),
		"serf":           a.serf.Stats(),
		"tags":           local.Tags,
		"event_handlers": a.EventHandlerKeys(),
	}
}

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
