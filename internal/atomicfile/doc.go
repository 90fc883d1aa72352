// Package atomicfile rewrites the small state files the agent owns, the
// tags file (-tags-file) and the keyring file (-keyring-file), so that a
// crash never leaves half a file behind and whoever manages the file keeps
// it as they set it up.
//
// WriteFile follows a chain of symlinks to the file they name and replaces
// that file: a temporary file in the target's directory gets the data, the
// existing file's permission bits and owner (perm, for a new file), is
// synced and renamed over the target, and the directory is synced. A
// symlink stays a symlink pointing at fresh content, as when Serf writes
// through it. When the replacement cannot keep what the file is (an
// unprivileged agent may not create files in the directory or give a file
// someone else's owner, or the target has other hard links or is not a
// regular file), WriteFile rewrites the file in place, as Serf always does:
// the owner, mode and links stay, only atomicity is lost. Errors name the
// path the caller gave, as Serf's do ("open /etc/serf/tags.json:
// permission denied").
//
// Where it lives: both the serf library (keyring file) and the agent
// (tags file) need it. Exporting it from package serf would add API that
// HashiCorp Serf's library does not have, and serf may not import agent.
// Under internal/ the Go toolchain keeps it out of this module's public
// API, so the layout test (internal/suites/layout) allows exactly this
// product package to be imported by product code; every other internal/
// package belongs to the tests and their tools.
//
// Functions here keep no state and are safe to call from any goroutine;
// two concurrent writes of one path end with one of the two contents.
package atomicfile
