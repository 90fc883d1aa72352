package layout_test

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// outsideReferences are the names of notes and paths that exist only on
// the machines the project was first written on. A person who clones the
// repository has none of them, so no doc, comment or fixture may cite
// them; what they said lives in docs/ (docs/wire.md, docs/testing.md,
// docs/seeds.md, CONTRIBUTING.md). Each string is built from two pieces
// so that this file does not trip its own test.
var outsideReferences = []string{
	"SERF-" + "REFERENCE",
	"STYLE" + ".md",
	"MULTI" + "HOST.md",
	"REAL-" + "PARTS.md",
	"../" + "shared",
	"/" + "work/",
	"/root" + "/go/",
}

// repoFiles lists the repository's files, tracked and untracked but not
// ignored, relative to root, so a new file is checked before it is
// committed. It skips the test outside a git checkout.
func repoFiles(t *testing.T) (root string, files []string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	root = strings.TrimSpace(string(out))
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = root
	out, err = cmd.Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, f := range strings.Split(string(out), "\x00") {
		if f != "" {
			files = append(files, f)
		}
	}
	return root, files
}

func TestNoReferencesOutsideRepository(t *testing.T) {
	root, files := repoFiles(t)
	if len(files) == 0 {
		t.Fatalf("git ls-files listed no files in %s", root)
	}
	checked := 0
	for _, name := range files {
		data, err := os.ReadFile(filepath.Join(root, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted in the work tree, not yet committed
		}
		if err != nil {
			t.Errorf("read %s: %v", name, err)
			continue
		}
		if bytes.IndexByte(data, 0) >= 0 {
			continue // binary
		}
		checked++
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, len(data)+1)
		for line := 1; sc.Scan(); line++ {
			for _, ref := range outsideReferences {
				if strings.Contains(sc.Text(), ref) {
					t.Errorf("%s:%d cites %q, which is not in the repository: say it in docs/ and cite that", name, line, ref)
				}
			}
		}
	}
	if checked == 0 {
		t.Errorf("no text files checked among %d files", len(files))
	}
}
