// Package wait replaces sleeps in tests: For polls a condition until it
// holds or a deadline passes, and then fails the test with the
// condition's last error, so the failure says what was still wrong.
// Until is the same without a test, and Every polls at a steady pace and
// returns how long the condition took, for waits that are measured.
// Drain reads two channels, a query's acks and responses, until both are
// closed, failing the test if they are not by a deadline.
//
// Conditions run on the test's goroutine, one call at a time, so they may
// call t.Fatal. This is the one polling loop of the tests: every other
// wait (a cluster converging, an agent printing a line) is built on it.
// This package is for tests only.
package wait
