//go:build !unix

package atomicfile

import "io/fs"

// owner is unknown where files have no Unix owner.
func owner(fs.FileInfo) (uid, gid int) { return -1, -1 }

// hardLinks is taken as 1 where it cannot be read.
func hardLinks(fs.FileInfo) uint64 { return 1 }
