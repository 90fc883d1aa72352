package agent

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/openserf/serf/client"
	"github.com/openserf/serf/internal/testutil/nobody"
)

func writeTags(t *testing.T, path string, tags map[string]string, mode os.FileMode) {
	t.Helper()
	data, _ := json.Marshal(tags)
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func readTags(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string]string{}
	if err := json.Unmarshal(data, &tags); err != nil {
		t.Fatalf("tags file %s: %v: %q", path, err, data)
	}
	return tags
}

func dialClient(t *testing.T, addr string) *client.RPCClient {
	t.Helper()
	c, err := client.NewRPCClient(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// `serf tags` on an agent whose -tags-file is a symlink to a managed,
// group-readable file: the link stays, the target gets the new tags and
// keeps its mode (and group, where the test can set one).
func TestTagsFileThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	managed := filepath.Join(dir, "managed")
	if err := os.Mkdir(managed, 0o755); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(managed, "tags.json")
	writeTags(t, target, map[string]string{"role": "web"}, 0o640)
	if nobody.Root() {
		if err := os.Chown(target, 0, 4343); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(dir, "tags.json")
	if err := os.Symlink("managed/tags.json", link); err != nil {
		t.Fatal(err)
	}
	a, addr, _ := rpcTestAgentWith(t, "", Options{TagsFile: link})
	c := dialClient(t, addr)

	if err := c.UpdateTags(map[string]string{"dc": "east"}, nil); err != nil {
		t.Fatalf("UpdateTags() error: %v", err)
	}
	want := map[string]string{"role": "web", "dc": "east"}
	if got := a.Serf().LocalMember().Tags; !maps.Equal(got, want) {
		t.Errorf("local tags = %v, want %v", got, want)
	}
	if got := readTags(t, target); !maps.Equal(got, want) {
		t.Errorf("target file = %v, want %v", got, want)
	}
	if info, err := os.Lstat(link); err != nil || info.Mode()&os.ModeSymlink == 0 {
		t.Errorf("%s after the write: %v, %v; want still a symlink", link, info.Mode(), err)
	}
	info, err := os.Stat(target)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode() != 0o640 {
		t.Errorf("target mode = %v, want -rw-r-----", info.Mode())
	}
	if gid := info.Sys().(*syscall.Stat_t).Gid; nobody.Root() && gid != 4343 {
		t.Errorf("target group = %d, want 4343", gid)
	}
}

// When the tags file cannot be written, `serf tags` fails with Serf's
// error, the agent keeps its old tags (Serf sets them only once they are
// saved) and the old file, and it goes on serving: the next change, once
// the directory is writable again, works.
func TestTagsFileWriteFailure(t *testing.T) {
	dir := nobody.Dir(t)
	path := filepath.Join(dir, "tags.json")
	old := map[string]string{"role": "web"}
	writeTags(t, path, old, 0o644)
	a, addr, logs := rpcTestAgentWith(t, "", Options{TagsFile: path})
	c := dialClient(t, addr)
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755) })

	var err error
	nobody.Do(t, func() { err = c.UpdateTags(map[string]string{"dc": "east"}, nil) })
	want := "Failed to write tags file: open " + path + ": permission denied"
	if err == nil || err.Error() != want {
		t.Errorf("UpdateTags() error = %v, want %s", err, want)
	}
	if !strings.Contains(logs.String(), "[ERR] agent: "+want+"\n") {
		t.Errorf("log lacks the failure:\n%s", logs.String())
	}
	if got := a.Serf().LocalMember().Tags; !maps.Equal(got, old) {
		t.Errorf("local tags after a failed write = %v, want %v", got, old)
	}
	if got := readTags(t, path); !maps.Equal(got, old) {
		t.Errorf("tags file after a failed write = %v, want %v", got, old)
	}

	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateTags(map[string]string{"dc": "east"}, nil); err != nil {
		t.Fatalf("UpdateTags() once writable error: %v", err)
	}
	want2 := map[string]string{"role": "web", "dc": "east"}
	if got := readTags(t, path); !maps.Equal(got, want2) {
		t.Errorf("tags file = %v, want %v", got, want2)
	}
}
