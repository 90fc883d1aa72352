//go:build !linux

package nobody

import "testing"

// Do runs fn when the test is unprivileged already; dropping root is only
// done on Linux, so as root it skips the test.
func Do(tb testing.TB, fn func()) {
	tb.Helper()
	if Root() {
		tb.Skip("dropping root privileges for a test is only done on Linux")
	}
	fn()
}
