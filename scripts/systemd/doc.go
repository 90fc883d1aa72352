// Package systemd tests the agent under a real systemd: the tests boot
// Debian bookworm with systemd as PID 1 in a container (systemd-nspawn),
// install our binary and a unit in it, and drive it with systemctl the
// way an operator does, while a peer agent outside the container watches
// the node join, leave and fail.
//
// The package holds no code of its own; everything is in its tests.
// They run as root with SERF_SYSTEMD=1 (make integration) and need
// systemd-nspawn (Debian: systemd-container), debootstrap, iproute2,
// nsenter and unshare (util-linux). The first run builds the bookworm
// tree with debootstrap and keeps it under
// $HOME/.cache/openserf/systemd-bookworm (SERF_SYSTEMD_CACHE overrides);
// later runs reuse it.
//
// Like the multi-host suite, the tests run inside private network, mount
// and PID namespaces (internal/lab/netns.Sandbox), so whatever happens to a
// run, every container, agent and namespace it started goes away with it.
// The containers and the peer talk over one veth pair per container, in
// 10.98.0.0/24, which exists only inside those namespaces; the containers
// have no way out, so whatever a test installs in one comes from /stage
// or from the tree's recipe (tree_test.go; bump treeVersion on a change).
//
// deb_test.go does the same with the Debian package: TestMain builds two
// versions with make deb (only when -run selects a TestDeb test), and
// TestDebPackage installs, upgrades, removes and purges them in a
// container named deb. TestDebLintian runs lintian on the host; it runs
// without SERF_SYSTEMD=1 too, building its own package, wherever lintian
// is installed.
//
// A test boots its own container (boot: files to bind-mount read-only at
// /stage, then run, must, sh, writeFile, show and journal inside it),
// starts a peer at the other end of its link (startPeer, then waitStatus
// and waitTag), and leaves the cleanup to the harness: poweroff, SIGKILL
// if that hangs, the cgroups and namespaces removed, and on failure the
// container's journal and the peer's log in the test output.
package systemd
