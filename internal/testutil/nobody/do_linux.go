package nobody

import (
	"fmt"
	"syscall"
	"testing"
)

// Do runs fn with effective user UID and group GID and no supplementary
// groups when the test runs as root, and simply runs fn otherwise (the
// test is unprivileged already). Root's credentials are back when Do
// returns, even if fn panics or calls t.Fatal.
func Do(tb testing.TB, fn func()) {
	tb.Helper()
	if !Root() {
		fn()
		return
	}
	groups, err := syscall.Getgroups()
	if err != nil {
		tb.Fatal(err)
	}
	if err := syscall.Setgroups(nil); err != nil {
		tb.Fatal(err)
	}
	if err := syscall.Setresgid(-1, GID, -1); err != nil {
		restore(groups)
		tb.Fatal(err)
	}
	if err := syscall.Setresuid(-1, UID, -1); err != nil {
		restore(groups)
		tb.Fatal(err)
	}
	defer restore(groups)
	fn()
}

// restore gives the process root's credentials back. The real and saved
// IDs stayed 0, which is what allows it. Failing here would leave every
// later test unprivileged, so it panics.
func restore(groups []int) {
	if err := syscall.Setresuid(-1, 0, -1); err != nil {
		panic(fmt.Sprintf("nobody: cannot become root again: %v", err))
	}
	if err := syscall.Setresgid(-1, 0, -1); err != nil {
		panic(fmt.Sprintf("nobody: cannot take group 0 again: %v", err))
	}
	if err := syscall.Setgroups(groups); err != nil {
		panic(fmt.Sprintf("nobody: cannot restore groups %v: %v", groups, err))
	}
}
