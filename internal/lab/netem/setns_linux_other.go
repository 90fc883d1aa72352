//go:build linux && !amd64 && !386

package netem

import "syscall"

const sysSetns = syscall.SYS_SETNS
