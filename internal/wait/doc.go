// Package wait replaces sleeps in tests: For polls a condition until it
// holds or a deadline passes, and then fails the test with the
// condition's last error, so the failure says what was still wrong.
//
// Conditions run on the test's goroutine, one call at a time, so they may
// call t.Fatal. This package is for tests only.
package wait
