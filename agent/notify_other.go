//go:build !linux

package agent

// monotonicUsec is "" where systemd does not run: RELOADING=1 goes alone.
func monotonicUsec() string { return "" }
