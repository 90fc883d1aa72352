// Package nobody lets a test running as root see file permissions as an
// unprivileged agent does: root bypasses them, so a read-only directory
// or a file owned by someone else stops nothing. This package is for
// tests only.
//
// Do changes the credentials of the whole process, every thread, for the
// time fn runs; a test that uses it must not run in parallel with others
// that touch files.
package nobody

import (
	"os"
	"path/filepath"
	"testing"
)

// UID and GID are the user and group Do runs as: nobody and nogroup on
// Debian, and unused by anything the tests create otherwise.
const (
	UID = 65534
	GID = 65534
)

// Root reports whether the test runs as root, so that Do drops privileges
// and chown to another owner works.
func Root() bool { return os.Geteuid() == 0 }

// Dir returns a fresh temporary directory that UID can reach (its parent
// directories are searchable by others), owned by the test's user with
// mode 0755.
func Dir(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	// The testing package makes the directory above dir 0700.
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	for d := filepath.Dir(filepath.Dir(dir)); ; d = filepath.Dir(d) {
		info, err := os.Stat(d)
		if err != nil {
			tb.Fatal(err)
		}
		if info.Mode().Perm()&0o001 == 0 {
			tb.Fatalf("%s is not searchable by others, so user %d cannot reach %s; set TMPDIR", d, UID, dir)
		}
		if d == filepath.Dir(d) {
			return dir
		}
	}
}
