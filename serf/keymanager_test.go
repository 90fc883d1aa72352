package serf_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/memberlist"
	"github.com/openserf/serf/internal/testutil/cluster"
	"github.com/openserf/serf/internal/testutil/nobody"
	"github.com/openserf/serf/internal/testutil/wait"
	"github.com/openserf/serf/serf"
)

func key(b byte) []byte {
	k := make([]byte, 32)
	for i := range k {
		k[i] = b
	}
	return k
}

func b64(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

func readKeyring(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := json.Unmarshal(data, &keys); err != nil {
		t.Fatalf("keyring file %s: %v: %q", path, err, data)
	}
	return keys
}

func TestKeyRotationAcrossCluster(t *testing.T) {
	dir := t.TempDir()
	old, next := key(1), key(2)
	var files []string
	c := cluster.New(t, "k", 5, func(cfg *serf.Config) {
		ring, err := memberlist.NewKeyring(nil, old)
		if err != nil {
			t.Fatal(err)
		}
		cfg.MemberlistConfig.Keyring = ring
		cfg.KeyringFile = filepath.Join(dir, cfg.NodeName+".keyring")
		files = append(files, cfg.KeyringFile)
	})
	c.WaitConverged(t, timeout)
	km := c.Nodes[2].Serf.KeyManager()

	resp, err := km.InstallKey(b64(next))
	if err != nil {
		t.Fatalf("InstallKey() error: %v (%+v)", err, resp)
	}
	if resp.NumNodes != 5 || resp.NumResp != 5 || resp.NumErr != 0 {
		t.Errorf("InstallKey() = %+v, want 5 nodes, 5 answers, no errors", resp)
	}
	for _, f := range files {
		if got := readKeyring(t, f); strings.Join(got, ",") != b64(old)+","+b64(next) {
			t.Errorf("%s after install = %v, want old then new", f, got)
		}
		if info, _ := os.Stat(f); info.Mode().Perm() != 0o600 {
			t.Errorf("%s mode = %v, want 0600", f, info.Mode().Perm())
		}
	}

	if _, err := km.UseKey(b64(next)); err != nil {
		t.Fatalf("UseKey() error: %v", err)
	}
	// Removing the primary is refused by every node.
	resp, err = km.RemoveKey(b64(next))
	if err == nil || err.Error() != "5/5 nodes reported failure" {
		t.Errorf("RemoveKey(primary) error = %v, want 5/5 nodes reported failure", err)
	}
	for name, msg := range resp.Messages {
		if msg != "removing the primary key is not allowed" {
			t.Errorf("RemoveKey(primary) message from %s = %q", name, msg)
		}
	}
	if _, err := km.RemoveKey(b64(old)); err != nil {
		t.Fatalf("RemoveKey(old) error: %v", err)
	}

	resp, err = km.ListKeys()
	if err != nil {
		t.Fatalf("ListKeys() error: %v", err)
	}
	if len(resp.Keys) != 1 || resp.Keys[b64(next)] != 5 || resp.PrimaryKeys[b64(next)] != 5 {
		t.Errorf("ListKeys() = %+v, want only the new key on 5 nodes", resp)
	}
	for _, f := range files {
		if got := readKeyring(t, f); strings.Join(got, ",") != b64(next) {
			t.Errorf("%s after rotation = %v, want only the new key", f, got)
		}
	}

	// The cluster still talks, on the new key only.
	if err := c.Nodes[0].Serf.UserEvent("after-rotation", nil, false); err != nil {
		t.Fatal(err)
	}
	wait.For(t, timeout, func() error {
		for _, n := range c.Nodes {
			if len(n.UserEvents()) != 1 {
				return fmt.Errorf("%s has not got the event sent after rotation", n.Name)
			}
		}
		return nil
	})

	if _, err := km.InstallKey("not base64!"); err == nil || !strings.Contains(err.Error(), "illegal base64 data") {
		t.Errorf("InstallKey(bad base64) error = %v", err)
	}
	resp, err = km.InstallKey(b64([]byte("short")))
	if err == nil || resp.Messages["k0"] != "key size must be 16, 24 or 32 bytes" {
		t.Errorf("InstallKey(5 bytes) = %v, %+v", err, resp.Messages)
	}
}

func TestKeyQueriesWithoutEncryption(t *testing.T) {
	c := cluster.New(t, "ke", 3, nil)
	c.WaitConverged(t, timeout)
	km := c.Nodes[0].Serf.KeyManager()
	resp, err := km.ListKeys()
	if err == nil || err.Error() != "3/3 nodes reported failure" {
		t.Errorf("ListKeys() error = %v", err)
	}
	if resp.Messages["ke1"] != "Keyring is empty (encryption not enabled)" {
		t.Errorf("ListKeys() messages = %v", resp.Messages)
	}
	resp, _ = km.InstallKey(b64(key(3)))
	if resp.Messages["ke2"] != "No keyring to modify (encryption not enabled)" {
		t.Errorf("InstallKey() messages = %v", resp.Messages)
	}
}

// encryptedCluster starts n nodes on one key whose keyring files are
// named by file(node name).
func encryptedCluster(t *testing.T, prefix string, n int, k []byte, file func(string) string) *cluster.Cluster {
	t.Helper()
	c := cluster.New(t, prefix, n, func(cfg *serf.Config) {
		ring, err := memberlist.NewKeyring(nil, k)
		if err != nil {
			t.Fatal(err)
		}
		cfg.MemberlistConfig.Keyring = ring
		cfg.KeyringFile = file(cfg.NodeName)
	})
	c.WaitConverged(t, timeout)
	return c
}

// A keyring file that configuration management keeps as a symlink to a
// group-readable file stays so: the target gets the new keys and keeps
// its mode (and, as root can set it up, its group).
func TestKeyringFileThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	managed := filepath.Join(dir, "managed")
	if err := os.Mkdir(managed, 0o755); err != nil {
		t.Fatal(err)
	}
	old, next := key(4), key(5)
	link := func(node string) string { return filepath.Join(dir, node+".keyring") }
	target := func(node string) string { return filepath.Join(managed, node+".keyring") }
	for _, node := range []string{"ks0", "ks1"} {
		data, _ := json.Marshal([]string{b64(old)})
		if err := os.WriteFile(target(node), data, 0o640); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(target(node), 0o640); err != nil {
			t.Fatal(err)
		}
		if nobody.Root() {
			if err := os.Chown(target(node), 0, 4343); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Symlink(filepath.Join("managed", node+".keyring"), link(node)); err != nil {
			t.Fatal(err)
		}
	}
	c := encryptedCluster(t, "ks", 2, old, link)

	if _, err := c.Nodes[0].Serf.KeyManager().InstallKey(b64(next)); err != nil {
		t.Fatalf("InstallKey() error: %v", err)
	}
	for _, n := range c.Nodes {
		info, err := os.Lstat(link(n.Name))
		if err != nil || info.Mode()&os.ModeSymlink == 0 {
			t.Errorf("%s after install: %v, %v; want still a symlink", link(n.Name), info.Mode(), err)
		}
		if got := readKeyring(t, target(n.Name)); strings.Join(got, ",") != b64(old)+","+b64(next) {
			t.Errorf("%s after install = %v, want old then new", target(n.Name), got)
		}
		info, err = os.Stat(target(n.Name))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode() != 0o640 {
			t.Errorf("%s mode = %v, want -rw-r-----", target(n.Name), info.Mode())
		}
		if gid := info.Sys().(*syscall.Stat_t).Gid; nobody.Root() && gid != 4343 {
			t.Errorf("%s group = %d, want 4343", target(n.Name), gid)
		}
	}
}

// When the keyring file cannot be written (a read-only directory), every
// node answers the key query with Serf's error, the key is installed in
// memory all the same (as in Serf, which reports the failure but keeps the
// key), and the file keeps its old keys.
func TestKeyringFileWriteFailure(t *testing.T) {
	dir := nobody.Dir(t)
	old, next := key(6), key(7)
	file := func(node string) string { return filepath.Join(dir, node+".keyring") }
	for _, node := range []string{"kf0", "kf1"} {
		data, _ := json.Marshal([]string{b64(old)})
		if err := os.WriteFile(file(node), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := encryptedCluster(t, "kf", 2, old, file)
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755) })

	var resp *serf.KeyResponse
	var err error
	nobody.Do(t, func() { resp, err = c.Nodes[0].Serf.KeyManager().InstallKey(b64(next)) })
	if err == nil || err.Error() != "2/2 nodes reported failure" {
		t.Errorf("InstallKey() error = %v, want 2/2 nodes reported failure", err)
	}
	for _, n := range c.Nodes {
		want := "Failed to write keyring file: open " + file(n.Name) + ": permission denied"
		if resp == nil || resp.Messages[n.Name] != want {
			t.Errorf("InstallKey() message from %s = %q, want %q", n.Name, resp.Messages[n.Name], want)
		}
		if got := readKeyring(t, file(n.Name)); strings.Join(got, ",") != b64(old) {
			t.Errorf("%s after a failed write = %v, want the old key only", file(n.Name), got)
		}
		if !strings.Contains(n.Logs.String(), "[ERR] serf: Failed to write keyring file: "+want+"\n") {
			t.Errorf("%s log lacks the write failure:\n%s", n.Name, n.Logs.String())
		}
	}
	list, err := c.Nodes[1].Serf.KeyManager().ListKeys()
	if err != nil {
		t.Fatalf("ListKeys() error: %v", err)
	}
	if list.Keys[b64(next)] != 2 || list.PrimaryKeys[b64(old)] != 2 {
		t.Errorf("ListKeys() = %+v, want the new key installed on both, the old one primary", list)
	}
}
