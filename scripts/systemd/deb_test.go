package systemd

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/oracle"
	"github.com/openserf/serf/internal/testutil/wait"
)

// The two versions of the package the upgrade goes between, built with
// make deb VERSION=...; Debian orders 0.1.0~dev1 before 0.1.0~dev2, and
// both before 0.1.0. "serf version" prints them as 0.1.0-dev1 and
// 0.1.0-dev2.
const (
	debOldVersion = "0.1.0~dev1"
	debNewVersion = "0.1.0~dev2"
)

// debNode is the container's name, so the node's; the harness's other
// users boot theirs under other names from the same cache.
const debNode = "deb"

// debUnit is the package's unit in the repository.
const debUnit = "../../packaging/deb/serf.service"

// Where the package puts the agent's state and settings.
const (
	debSnapshot = "/var/lib/serf/serf.snapshot"
	debConfig   = "/etc/serf/serf.json"
)

// selected reports whether go test's -run pattern selects any of the
// named top-level tests (only the pattern's part before its first slash
// names those).
func selected(names ...string) bool {
	f := flag.Lookup("test.run")
	if f == nil || f.Value.String() == "" {
		return true
	}
	top, _, _ := strings.Cut(f.Value.String(), "/")
	re, err := regexp.Compile(top)
	if err != nil {
		return true
	}
	return slices.ContainsFunc(names, re.MatchString)
}

// buildDeb runs make deb for version with its output in dir, and returns
// the package's path.
func buildDeb(dir, version string) (string, error) {
	root, err := oracle.ModuleRoot()
	if err != nil {
		return "", err
	}
	if _, err := exec.LookPath("make"); err != nil {
		return "", fmt.Errorf("make deb: %w (Debian: apt-get install make)", err)
	}
	cmd := exec.Command("make", "deb", "VERSION="+version, "DIST="+dir, "DEB_BIN="+filepath.Join(dir, "serf"))
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("make deb VERSION=%s: %w\n%s", version, err, tail(string(out), 30))
	}
	deb := filepath.Join(dir, "serf_"+version+"_amd64.deb")
	if _, err := os.Stat(deb); err != nil {
		return "", fmt.Errorf("make deb VERSION=%s: %w", version, err)
	}
	return deb, nil
}

// requireDebs fails the test when TestMain could not build the packages.
func requireDebs(t *testing.T) {
	t.Helper()
	if debFailReason != "" {
		t.Fatal(debFailReason)
	}
	if debOld == "" || debNew == "" {
		t.Fatal("the Debian packages were not built: TestMain builds them only when -run selects TestDebPackage or TestDebLintian")
	}
}

// TestDebPackage takes the package through its life on a bookworm
// machine under systemd, the way docs/operations.md tells an operator to:
// install (enabled, not started, since /etc/serf holds no settings yet),
// configure, start and join the peer, upgrade to a newer build (the agent
// restarts and rejoins from the snapshot the old one left), remove (the
// agent leaves) and purge (its state goes); then a fresh install on a
// configured machine starts the agent by itself.
func TestDebPackage(t *testing.T) {
	requireSystemd(t)
	requireDebs(t)
	c := boot(t, debNode, map[string]string{filepath.Base(debOld): debOld, filepath.Base(debNew): debNew})
	d := &debSession{t: t, c: c, p: startPeer(t, c)}
	d.install()
	d.start()
	d.upgrade()
	d.remove()
	d.purge()
	d.installConfigured()
}

// debSession is the package in one container, with its peer.
type debSession struct {
	t *testing.T
	c *container
	p *peer
}

// dpkg runs dpkg with the arguments; a package file is named by its base
// name in /stage.
func (d *debSession) dpkg(args ...string) string {
	d.t.Helper()
	for i, a := range args {
		if a == debOld || a == debNew {
			args[i] = "/stage/" + filepath.Base(a)
		}
	}
	return d.c.must("dpkg", args...)
}

// install: dpkg -i of the old package on a machine without serf, then
// apt-get install -f, which has nothing to fetch (the containers have no
// way out): bookworm's base has everything the package depends on.
func (d *debSession) install() {
	t, c := d.t, d.c
	out := d.dpkg("-i", debOld)
	t.Logf("dpkg -i %s:\n%s", filepath.Base(debOld), out)
	c.must("apt-get", "install", "-f", "-y", "-q")
	d.wantPackage("install ok installed", debOldVersion)
	if conffiles := c.must("dpkg-query", "-W", "-f=${Conffiles}", "serf"); !strings.Contains(conffiles, " /etc/default/serf ") {
		t.Errorf("install: the package's conffiles are %q, want /etc/default/serf among them", conffiles)
	}
	d.wantFiles("install", map[string]string{
		"/usr/bin/serf":                    "root:root 755",
		"/lib/systemd/system/serf.service": "root:root 644",
		"/etc/default/serf":                "root:root 644",
		"/etc/serf":                        "root:serf 750",
		"/usr/share/serf/defaults.json":    "root:root 644",
		"/var/lib/serf":                    "serf:serf 750",
		"/usr/share/man/man1/serf.1.gz":    "root:root 644",
		"/usr/share/doc/serf/copyright":    "root:root 644",
	})
	d.wantUser()
	// Enabled, but not started: nothing in /etc/serf says what to join.
	if out, _ := c.run("systemctl", "is-enabled", "serf"); strings.TrimSpace(out) != "enabled" {
		t.Errorf("install: systemctl is-enabled serf = %q, want enabled", strings.TrimSpace(out))
	}
	if out, _ := c.run("systemctl", "is-active", "serf"); strings.TrimSpace(out) != "inactive" {
		t.Errorf("install: systemctl is-active serf = %q, want inactive (a first install without settings does not start the agent)", strings.TrimSpace(out))
	}
	d.wantVersion("install", "0.1.0-dev1")
}

// start: settings in /etc/serf, systemctl start, serf join from the
// node; the peer sees it alive with its tag, the agent runs as serf, and
// the snapshot in /var/lib/serf records the peer. rejoin_after_leave
// and no join address in the settings: after a restart, the node can
// find the peer again only through the snapshot.
func (d *debSession) start() {
	t, c := d.t, d.c
	c.writeFile(debConfig, `{"rejoin_after_leave": true, "tags": {"role": "db"}}`+"\n")
	c.must("chgrp", "serf", debConfig)
	c.must("chmod", "640", debConfig)
	c.must("systemctl", "start", "serf")
	wait.For(t, unitTimeout, func() error {
		_, err := c.run("serf", "members")
		return err
	})
	c.must("serf", "join", peerIP)
	d.p.waitTag(debNode, "role", "db", seeTimeout)
	pid := d.c.mainPID()
	if user := strings.TrimSpace(c.must("ps", "-o", "user=", "-p", strconv.Itoa(pid))); user != "serf" {
		t.Errorf("start: the agent (PID %d) runs as %q, want serf", pid, user)
	}
	wait.For(t, unitTimeout, func() error {
		snap, err := c.run("cat", debSnapshot)
		if err != nil {
			return err
		}
		if !strings.Contains(snap, "alive: "+peerNode+" "+peerIP+":7946") {
			return fmt.Errorf("start: %s does not record the peer:\n%s", debSnapshot, snap)
		}
		return nil
	})
	d.wantFiles("start", map[string]string{debSnapshot: "serf:serf 644"})
}

// upgrade: dpkg -i of the newer package while the agent runs. The new
// postinst restarts it (the stop is a graceful leave), the new binary
// runs, and it rejoins the peer from the snapshot, which it keeps
// appending to. The conffile and the operator's settings stay as they
// were, with no question asked.
func (d *debSession) upgrade() {
	t, c := d.t, d.c
	pid := d.c.mainPID()
	size := d.snapshotSize()
	defaults := c.must("cat", "/etc/default/serf")
	mark := c.journalMark()
	out := d.dpkg("-i", debNew)
	t.Logf("dpkg -i %s:\n%s", filepath.Base(debNew), out)
	d.wantPackage("install ok installed", debNewVersion)
	wait.For(t, unitTimeout, func() error {
		st := c.show("serf", "ActiveState", "MainPID")
		if st["ActiveState"] != "active" || st["MainPID"] == "0" || st["MainPID"] == strconv.Itoa(pid) {
			return fmt.Errorf("upgrade: serf.service is %v, want active with a MainPID other than %d", st, pid)
		}
		return nil
	})
	d.wantVersion("upgrade", "0.1.0-dev2")
	// The process runs the new file, not the deleted old one.
	if exe := strings.TrimSpace(c.must("readlink", fmt.Sprintf("/proc/%d/exe", d.c.mainPID()))); exe != "/usr/bin/serf" {
		t.Errorf("upgrade: the agent runs %q, want /usr/bin/serf", exe)
	}
	wait.For(t, seeTimeout, func() error {
		out, err := c.run("serf", "members")
		if err != nil {
			return err
		}
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) >= 3 && f[0] == peerNode && f[2] == "alive" {
				return nil
			}
		}
		return fmt.Errorf("upgrade: the new agent does not see %s alive:\n%s", peerNode, out)
	})
	d.p.waitTag(debNode, "role", "db", seeTimeout)
	d.c.waitJournal("upgrade", mark, "[INFO] agent: requesting graceful leave from Serf",
		"[INFO] serf: Ignoring previous leave in snapshot", "[INFO] serf: Re-joined to previously known node")
	wait.For(t, unitTimeout, func() error {
		if now := d.snapshotSize(); now <= size {
			return fmt.Errorf("upgrade: %s has %d bytes, want more than the %d before the upgrade", debSnapshot, now, size)
		}
		return nil
	})
	if now := c.must("cat", "/etc/default/serf"); now != defaults {
		t.Errorf("upgrade: /etc/default/serf changed from\n%s\nto\n%s", defaults, now)
	}
	d.wantFiles("upgrade", map[string]string{debConfig: "root:serf 640", "/etc/serf": "root:serf 750"})
}

// remove: dpkg -r stops the agent, which leaves; the program goes, the
// conffile, the state and the user stay.
func (d *debSession) remove() {
	t, c := d.t, d.c
	c.must("dpkg", "-r", "serf")
	d.p.waitStatus(debNode, "left", seeTimeout)
	d.wantPackage("deinstall ok config-files", debNewVersion)
	for _, path := range []string{"/usr/bin/serf", "/lib/systemd/system/serf.service"} {
		if _, err := c.run("test", "-e", path); err == nil {
			t.Errorf("remove: %s is still there", path)
		}
	}
	for _, path := range []string{"/etc/default/serf", debSnapshot, debConfig} {
		if _, err := c.run("test", "-e", path); err != nil {
			t.Errorf("remove: %s is gone, want it kept until a purge", path)
		}
	}
	if out, _ := c.run("systemctl", "is-active", "serf"); strings.TrimSpace(out) != "inactive" {
		t.Errorf("remove: systemctl is-active serf = %q, want inactive", strings.TrimSpace(out))
	}
	d.wantUser()
}

// purge: dpkg -P deletes the state, the conffile and the unit's
// enablement; the operator's settings and the serf user stay.
func (d *debSession) purge() {
	t, c := d.t, d.c
	c.must("dpkg", "-P", "serf")
	if out, err := c.run("dpkg-query", "-W", "serf"); err == nil {
		t.Errorf("purge: dpkg still knows the package: %s", out)
	}
	for _, path := range []string{"/var/lib/serf", "/etc/default/serf",
		"/etc/systemd/system/multi-user.target.wants/serf.service",
		"/var/lib/systemd/deb-systemd-helper-enabled/serf.service.dsh-also"} {
		if _, err := c.run("test", "-e", path); err == nil {
			t.Errorf("purge: %s is still there", path)
		}
	}
	if _, err := c.run("test", "-e", debConfig); err != nil {
		t.Errorf("purge: %s, the operator's own file, is gone", debConfig)
	}
	d.wantUser()
}

// installConfigured: a first install on a machine whose /etc/serf
// already holds settings (the purge left the operator's file) starts the
// agent, which joins the peer by itself.
func (d *debSession) installConfigured() {
	c := d.c
	c.writeFile(debConfig, `{"start_join": ["`+peerIP+`"], "tags": {"role": "web"}}`+"\n")
	d.dpkg("-i", debNew)
	d.wantPackage("install ok installed", debNewVersion)
	d.p.waitTag(debNode, "role", "web", seeTimeout)
	if out, _ := c.run("systemctl", "is-active", "serf"); strings.TrimSpace(out) != "active" {
		d.t.Errorf("install on a configured machine: systemctl is-active serf = %q, want active", strings.TrimSpace(out))
	}
}

// wantPackage checks dpkg's status and version of the package.
func (d *debSession) wantPackage(status, version string) {
	d.t.Helper()
	got := d.c.must("dpkg-query", "-W", "-f=${Status} ${Version}", "serf")
	if want := status + " " + version; got != want {
		d.t.Fatalf("dpkg-query -W serf = %q, want %q", got, want)
	}
}

// wantFiles checks the owner, group and mode of each path.
func (d *debSession) wantFiles(step string, want map[string]string) {
	d.t.Helper()
	for path, w := range want {
		got, err := d.c.run("stat", "-c", "%U:%G %a", path)
		if got = strings.TrimSpace(got); err != nil || got != w {
			d.t.Errorf("%s: %s is %q (%v), want %s", step, path, got, err, w)
		}
	}
}

// wantUser checks that serf is a system user with its own group, at home
// in /var/lib/serf and without a login shell.
func (d *debSession) wantUser() {
	d.t.Helper()
	f := strings.Split(strings.TrimSpace(d.c.must("getent", "passwd", "serf")), ":")
	g := strings.Split(strings.TrimSpace(d.c.must("getent", "group", "serf")), ":")
	if len(f) != 7 || len(g) != 4 {
		d.t.Fatalf("getent: the serf user is %v, its group %v", f, g)
	}
	uid, _ := strconv.Atoi(f[2])
	if uid == 0 || uid >= 1000 || f[3] != g[2] || f[5] != "/var/lib/serf" || f[6] != "/usr/sbin/nologin" {
		d.t.Errorf("the serf user is %v in group %v, want a system user (0 < uid < 1000) in group serf, home /var/lib/serf, shell /usr/sbin/nologin", f, g)
	}
}

// wantVersion checks the first line of serf version.
func (d *debSession) wantVersion(step, want string) {
	d.t.Helper()
	out := d.c.must("serf", "version")
	if first, _, _ := strings.Cut(out, "\n"); !strings.HasPrefix(first, want+" ") && first != want {
		d.t.Errorf("%s: serf version prints %q, want %s", step, first, want)
	}
}

// snapshotSize is the size of the snapshot file in bytes.
func (d *debSession) snapshotSize() int {
	d.t.Helper()
	n, err := strconv.Atoi(strings.TrimSpace(d.c.must("stat", "-c", "%s", debSnapshot)))
	if err != nil {
		d.t.Fatalf("size of %s: %v", debSnapshot, err)
	}
	return n
}

// lintianTag is one line of lintian's output: E: serf: tag [where].
var lintianTag = regexp.MustCompile(`^([EWIPX]): serf(?: [a-z]+)?: (\S+)`)

// TestDebLintian runs lintian on the package. Errors and warnings fail
// the test (the package's overrides file holds the one justified
// exception); every informational and pedantic tag left must be
// explained in docs/operations.md. It runs on the host, not in a
// container: without SERF_SYSTEMD=1 it builds its own package and skips
// when lintian is missing; with it, lintian must be there.
func TestDebLintian(t *testing.T) {
	deb := debNew
	if os.Getenv(envSystemd) != "1" {
		if _, err := exec.LookPath("lintian"); err != nil {
			t.Skip("lintian is not installed (Debian: apt-get install lintian); with " + envSystemd + "=1 the test fails instead")
		}
		var err error
		if deb, err = buildDeb(t.TempDir(), debNewVersion); err != nil {
			t.Fatal(err)
		}
	} else {
		requireDebs(t)
		if _, err := exec.LookPath("lintian"); err != nil {
			t.Fatal("lintian is not installed (Debian: apt-get install lintian)")
		}
	}
	start := time.Now()
	out, err := exec.Command("lintian", "--allow-root", "--display-info", "--pedantic", deb).CombinedOutput()
	t.Logf("lintian %s (%.1fs):\n%s", filepath.Base(deb), time.Since(start).Seconds(), out)
	docs, rerr := os.ReadFile("../../docs/operations.md")
	if rerr != nil {
		t.Fatal(rerr)
	}
	var tags int
	for _, line := range strings.Split(string(out), "\n") {
		m := lintianTag.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		tags++
		switch level, tag := m[1], m[2]; level {
		case "E", "W", "X":
			t.Errorf("lintian: %s", line)
		default:
			if !strings.Contains(string(docs), "`"+tag+"`") {
				t.Errorf("lintian: %s: docs/operations.md does not explain `%s`", line, tag)
			}
		}
	}
	if err != nil && tags == 0 {
		t.Fatalf("lintian: %v", err)
	}
}

// TestDebUnitVerifies runs systemd-analyze verify on the package's unit,
// wherever systemd-analyze is installed: no error and no warning. verify
// wants ExecStart's program to exist, so a copy of the unit names
// /bin/true instead; the man page it points at is the package's, not the
// host's, so verify does not look for it.
func TestDebUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed (Debian package systemd)")
	}
	unit, err := os.ReadFile(debUnit)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := serviceKeys(debUnit)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		"User": "serf", "KillSignal": "SIGINT", "Restart": "on-failure", "StateDirectory": "serf",
		"EnvironmentFile": "-/etc/default/serf", "ExecReload": "/bin/kill -HUP $MAINPID",
		"ExecStart": "/usr/bin/serf agent -config-file=/usr/share/serf/defaults.json $SERF_AGENT_OPTS",
	} {
		if keys[key] != want {
			t.Errorf("%s: %s=%s, want %s", debUnit, key, keys[key], want)
		}
	}
	path := filepath.Join(t.TempDir(), "serf.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(unit), "/usr/bin/serf", "/bin/true")), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", "--man=no", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	if strings.TrimSpace(string(out)) != "" {
		t.Errorf("systemd-analyze verify warned:\n%s", out)
	}
}
