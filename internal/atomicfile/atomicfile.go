package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxLinks bounds the symlink chain WriteFile follows, as the kernel
// bounds it (40 on Linux).
const maxLinks = 40

// errTooManyLinks is ELOOP's text, for a chain longer than maxLinks.
var errTooManyLinks = errors.New("too many levels of symbolic links")

// keptMode are the mode bits a replacement copies from the file it
// replaces.
const keptMode = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky

// WriteFile writes data to the file at path, following symlinks, and
// replaces it atomically where it can (see the package documentation).
// perm is the mode of a file that does not exist yet; an existing file
// keeps its own mode and owner. Errors are *fs.PathError naming path.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	target, err := resolve(path)
	if err != nil {
		return &fs.PathError{Op: "open", Path: path, Err: cause(err)}
	}
	f := file{mode: perm, uid: -1, gid: -1}
	switch old, err := os.Lstat(target); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return &fs.PathError{Op: "open", Path: path, Err: cause(err)}
	case !old.Mode().IsRegular() || hardLinks(old) > 1:
		// A rename would leave the other links, or the device or pipe,
		// behind.
		return writeInPlace(path, data, perm, old.Mode().IsRegular())
	default:
		f.mode = old.Mode() & keptMode
		f.uid, f.gid = owner(old)
	}
	op, err := f.replace(target, data)
	if err == nil {
		return nil
	}
	if errors.Is(err, fs.ErrPermission) && (op == "open" || op == "chown" || op == "rename") {
		// No right to create files in the directory, to give the file
		// its owner back or to replace it (a sticky directory): write
		// it in place as Serf does, which the file's own permissions
		// may allow, and which otherwise fails as Serf's write fails.
		return writeInPlace(path, data, perm, true)
	}
	return &fs.PathError{Op: op, Path: path, Err: cause(err)}
}

// file is what a replacement file gets: permission bits, and the owner
// unless uid is -1.
type file struct {
	mode     fs.FileMode
	uid, gid int
}

// replace writes data to a temporary file beside target, gives it f's
// owner and mode, syncs it and renames it over target. On failure the
// temporary file is removed and op names the step that failed.
func (f file) replace(target string, data []byte) (op string, err error) {
	dir := filepath.Dir(target)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(target)+".tmp*")
	if err != nil {
		return "open", err
	}
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				tmp.Close()
			}
			os.Remove(tmp.Name())
		}
	}()
	// Chown first: it clears the set-id bits that Chmod then sets.
	if f.uid >= 0 {
		if err := tmp.Chown(f.uid, f.gid); err != nil {
			return "chown", err
		}
	}
	if err := tmp.Chmod(f.mode); err != nil {
		return "chmod", err
	}
	if _, err := tmp.Write(data); err != nil {
		return "write", err
	}
	if err := tmp.Sync(); err != nil {
		return "sync", err
	}
	closed = true
	if err := tmp.Close(); err != nil {
		return "close", err
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return "rename", err
	}
	syncDir(dir)
	return "", nil
}

// syncDir makes a rename in dir durable. Its error is not returned: the
// new content is already what every reader sees, so reporting the write
// as failed would be wrong; only its survival of a power cut is in doubt.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	d.Close()
}

// writeInPlace truncates and rewrites path, the way os.WriteFile (and so
// Serf) does, syncing it when it is a regular file.
func writeInPlace(path string, data []byte, perm fs.FileMode, regular bool) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil && regular {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// resolve follows path's symlinks, a chain of them too, to the file they
// name, which need not exist. Its directory is resolved at every step, so
// a relative link is read from where the link really is, and ".." in a
// link goes up from the directory a symlinked directory points to, as
// the kernel would resolve it.
func resolve(path string) (string, error) {
	for range maxLinks {
		dir, err := filepath.EvalSymlinks(dirOf(path))
		if err != nil {
			return "", err
		}
		path = filepath.Join(dir, filepath.Base(path))
		info, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			return path, nil
		}
		if err != nil {
			return "", err
		}
		if info.Mode()&fs.ModeSymlink == 0 {
			return path, nil
		}
		dest, err := os.Readlink(path)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(dest) {
			// Not filepath.Join: cleaning "a/../b" would drop a
			// symlinked a before EvalSymlinks could follow it.
			dest = dir + string(filepath.Separator) + dest
		}
		path = dest
	}
	return "", errTooManyLinks
}

// dirOf is filepath.Dir without the cleaning, for the same reason.
func dirOf(path string) string {
	i := strings.LastIndexByte(path, filepath.Separator)
	switch {
	case i < 0:
		return "."
	case i == 0:
		return string(filepath.Separator)
	}
	return path[:i]
}

// cause is the system error inside a *fs.PathError or *os.LinkError, so
// that WriteFile's errors name the caller's path, not a temporary one.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
