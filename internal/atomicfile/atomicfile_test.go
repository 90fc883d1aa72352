package atomicfile_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/openserf/serf/internal/atomicfile"
	"github.com/openserf/serf/internal/testutil/nobody"
)

func write(t *testing.T, path, content string, mode fs.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // past the umask
		t.Fatal(err)
	}
}

func content(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// stat returns the mode and owner of path (not following a link).
func stat(t *testing.T, path string) (fs.FileMode, uint32, uint32) {
	t.Helper()
	info, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := info.Sys().(*syscall.Stat_t)
	return info.Mode(), st.Uid, st.Gid
}

// noLeftovers fails if a temporary file is left in dir.
func noLeftovers(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left in %s", e.Name(), dir)
		}
	}
}

func TestNewFileGetsPerm(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tags.json")
	if err := atomicfile.WriteFile(path, []byte("new"), 0o600); err != nil {
		t.Fatalf("WriteFile() error: %v", err)
	}
	if got := content(t, path); got != "new" {
		t.Errorf("content = %q, want new", got)
	}
	if mode, _, _ := stat(t, path); mode != 0o600 {
		t.Errorf("mode = %v, want -rw-------", mode)
	}
	noLeftovers(t, dir)
}

// A file set up by configuration management, group-readable and owned by
// another user and group, keeps its mode and owner.
func TestKeepsModeAndOwner(t *testing.T) {
	if !nobody.Root() {
		t.Skip("chown to another owner needs root")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "keyring")
	write(t, path, "old", 0o640)
	if err := os.Chown(path, 4242, 4343); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.WriteFile(path, []byte("new"), 0o600); err != nil {
		t.Fatalf("WriteFile() error: %v", err)
	}
	if got := content(t, path); got != "new" {
		t.Errorf("content = %q, want new", got)
	}
	if mode, uid, gid := stat(t, path); mode != 0o640 || uid != 4242 || gid != 4343 {
		t.Errorf("mode, owner = %v %d:%d, want -rw-r----- 4242:4343", mode, uid, gid)
	}
	noLeftovers(t, dir)

	// Set-group-ID survives the chown that would clear it.
	if err := os.Chmod(path, 0o2640|fs.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.WriteFile(path, []byte("again"), 0o600); err != nil {
		t.Fatalf("WriteFile() error: %v", err)
	}
	if mode, _, _ := stat(t, path); mode != 0o640|fs.ModeSetgid {
		t.Errorf("mode = %v, want -rw-r-S---", mode)
	}
}

// Writing through a chain of symlinks, one relative, replaces the file at
// the end; the links stay links.
func TestFollowsSymlinkChain(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "managed")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(real, "tags.json")
	write(t, target, "old", 0o640)
	middle := filepath.Join(dir, "middle")
	if err := os.Symlink("managed/tags.json", middle); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "tags.json")
	if err := os.Symlink(middle, link); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.WriteFile(link, []byte("new"), 0o600); err != nil {
		t.Fatalf("WriteFile() error: %v", err)
	}
	for _, l := range []string{link, middle} {
		if mode, _, _ := stat(t, l); mode&fs.ModeSymlink == 0 {
			t.Errorf("%s is no longer a symlink: %v", l, mode)
		}
	}
	if got := content(t, target); got != "new" {
		t.Errorf("target content = %q, want new", got)
	}
	if mode, _, _ := stat(t, target); mode != 0o640 {
		t.Errorf("target mode = %v, want -rw-r-----", mode)
	}
	noLeftovers(t, dir)
	noLeftovers(t, real)
}

// A dangling link gets its target created, with perm.
func TestDanglingSymlink(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "keyring")
	if err := os.Symlink("keyring.real", link); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.WriteFile(link, []byte("new"), 0o600); err != nil {
		t.Fatalf("WriteFile() error: %v", err)
	}
	target := filepath.Join(dir, "keyring.real")
	if got := content(t, target); got != "new" {
		t.Errorf("target content = %q, want new", got)
	}
	if mode, _, _ := stat(t, target); mode != 0o600 {
		t.Errorf("target mode = %v, want -rw-------", mode)
	}
}

// A relative link with ".." inside a symlinked directory is read as the
// kernel reads it: from the directory the symlinked one points to.
func TestRelativeLinkInSymlinkedDir(t *testing.T) {
	dir := t.TempDir()
	deep := filepath.Join(dir, "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(deep, filepath.Join(dir, "alias")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../tags.json", filepath.Join(deep, "tags.json")); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "alias", "tags.json")
	if err := atomicfile.WriteFile(path, []byte("new"), 0o600); err != nil {
		t.Fatalf("WriteFile() error: %v", err)
	}
	if got := content(t, filepath.Join(dir, "a", "tags.json")); got != "new" {
		t.Errorf("a/tags.json = %q, want new", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "tags.json")); err == nil {
		t.Errorf("wrote %s, the lexical reading of the link", filepath.Join(dir, "tags.json"))
	}
}

func TestSymlinkLoop(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if err := os.Symlink(b, a); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(a, b); err != nil {
		t.Fatal(err)
	}
	err := atomicfile.WriteFile(a, []byte("x"), 0o600)
	if want := "open " + a + ": too many levels of symbolic links"; err == nil || err.Error() != want {
		t.Errorf("WriteFile(loop) error = %v, want %s", err, want)
	}
}

// A file with two hard links is rewritten in place, so both see the new
// content.
func TestHardLinkedFileInPlace(t *testing.T) {
	dir := t.TempDir()
	path, other := filepath.Join(dir, "tags.json"), filepath.Join(dir, "copy")
	write(t, path, "old", 0o644)
	if err := os.Link(path, other); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.WriteFile(path, []byte("new"), 0o600); err != nil {
		t.Fatalf("WriteFile() error: %v", err)
	}
	if got := content(t, other); got != "new" {
		t.Errorf("other link's content = %q, want new", got)
	}
}

// In a directory the agent may not write, with a file it may not write
// either, the write fails with the error Serf gives and the old file is
// untouched.
func TestReadOnlyDirectory(t *testing.T) {
	dir := nobody.Dir(t)
	path := filepath.Join(dir, "tags.json")
	write(t, path, "old", 0o644)
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755) })
	var err error
	nobody.Do(t, func() { err = atomicfile.WriteFile(path, []byte("new"), 0o600) })
	if want := "open " + path + ": permission denied"; err == nil || err.Error() != want {
		t.Errorf("WriteFile() error = %v, want %s", err, want)
	}
	if got := content(t, path); got != "old" {
		t.Errorf("content after a failed write = %q, want old", got)
	}
	noLeftovers(t, dir)
}

// writeNewAsNobody writes "new" to path as user nobody and checks that it
// is there.
func writeNewAsNobody(t *testing.T, path string) {
	t.Helper()
	var err error
	nobody.Do(t, func() { err = atomicfile.WriteFile(path, []byte("new"), 0o600) })
	if err != nil {
		t.Fatalf("WriteFile() error: %v", err)
	}
	if got := content(t, path); got != "new" {
		t.Errorf("content = %q, want new", got)
	}
}

// An unprivileged agent whose file sits in a directory it cannot write
// (as /etc/serf owned by root, the file owned by the agent's user), or
// whose file belongs to another user but is group-writable, still writes
// it, in place as Serf does, keeping the owner.
func TestUnprivilegedWritesInPlace(t *testing.T) {
	if !nobody.Root() {
		t.Skip("setting up files of other owners needs root")
	}
	t.Run("directory not writable", func(t *testing.T) {
		dir := nobody.Dir(t)
		path := filepath.Join(dir, "tags.json")
		write(t, path, "old", 0o600)
		if err := os.Chown(path, nobody.UID, nobody.GID); err != nil {
			t.Fatal(err)
		}
		writeNewAsNobody(t, path)
		if mode, uid, _ := stat(t, path); mode != 0o600 || uid != nobody.UID {
			t.Errorf("mode, owner = %v %d, want -rw------- %d", mode, uid, nobody.UID)
		}
	})
	t.Run("owned by another user", func(t *testing.T) {
		dir := nobody.Dir(t)
		if err := os.Chown(dir, nobody.UID, nobody.GID); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "keyring")
		write(t, path, "old", 0o660)
		if err := os.Chown(path, 0, nobody.GID); err != nil {
			t.Fatal(err)
		}
		writeNewAsNobody(t, path)
		if mode, uid, gid := stat(t, path); mode != 0o660 || uid != 0 || gid != nobody.GID {
			t.Errorf("mode, owner = %v %d:%d, want -rw-rw---- 0:%d", mode, uid, gid, nobody.GID)
		}
		noLeftovers(t, dir)
	})
}
