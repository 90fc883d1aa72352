//go:build unix

package atomicfile

import (
	"io/fs"
	"syscall"
)

// owner is the file's user and group, or -1, -1 when unknown.
func owner(info fs.FileInfo) (uid, gid int) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return -1, -1
	}
	return int(st.Uid), int(st.Gid)
}

// hardLinks is the file's link count, 1 when unknown.
func hardLinks(info fs.FileInfo) uint64 {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return 1
	}
	return uint64(st.Nlink)
}
