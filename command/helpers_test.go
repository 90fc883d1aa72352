package command

import (
	"flag"
	"net"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/cli"
	"github.com/openserf/serf/internal/testutil/wait"
)

// build returns the command Commands makes under name, around ui. A
// command that waits gets interrupt (nil: it is never interrupted) in
// place of the process-wide SIGINT watcher Commands would give it.
func build(ui cli.Ui, name string, interrupt <-chan struct{}) cli.Command {
	factory, ok := commands(ui, func() <-chan struct{} { return interrupt })[name]
	if !ok {
		panic("no command " + name)
	}
	cmd, err := factory()
	if err != nil {
		panic(err)
	}
	return cmd
}

// named returns the builder of the command called name (see build),
// never interrupted.
func named(name string) func(cli.Ui) cli.Command {
	return func(ui cli.Ui) cli.Command { return build(ui, name, nil) }
}

// helpOf returns the help of the command called name.
func helpOf(name string) string { return build(nil, name, nil).Help() }

// flagsOf returns the flag set of the command called name, one that
// talks to an agent, with its defaults.
func flagsOf(name string) *flag.FlagSet {
	f, _ := build(nil, name, nil).(*rpcCommand).flags()
	return f
}

// The commands that wait, never interrupted.
var (
	newMonitor      = named("monitor")
	newQuery        = named("query")
	newReachability = named("reachability")
)

// cmdResult is what one run of a command produced.
type cmdResult struct {
	code int
	out  string // UI.Output
	err  string // UI.Error
}

// runWithUI runs the command newCmd builds around a fresh MockUi.
func runWithUI(t testing.TB, newCmd func(cli.Ui) cli.Command, args ...string) cmdResult {
	t.Helper()
	ui := cli.NewMockUi()
	code := newCmd(ui).Run(args)
	return cmdResult{code: code, out: ui.OutputWriter.String(), err: ui.ErrorWriter.String()}
}

// check compares a run with what was wanted.
func (r cmdResult) check(t testing.TB, args []string, want cmdResult) {
	t.Helper()
	if r.code != want.code {
		t.Errorf("Run(%q) = %d, want %d", args, r.code, want.code)
	}
	if r.out != want.out {
		t.Errorf("Run(%q) output = %q, want %q", args, r.out, want.out)
	}
	if r.err != want.err {
		t.Errorf("Run(%q) error output = %q, want %q", args, r.err, want.err)
	}
}

// refusedRPCAddr returns a loopback address nobody listens on, and the
// message a command prints when it cannot connect to it.
func refusedRPCAddr(t testing.TB) (addr, msg string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = l.Addr().String()
	l.Close()
	return addr, "Error connecting to Serf agent: dial tcp " + addr + ": connect: connection refused"
}

// jsonFailure is the object members and info print for msg with
// -format=json.
func jsonFailure(msg string) string {
	return "{\n  \"error\": " + strconv.Quote(msg) + "\n}\n"
}

// badToken is what a command prints when the agent refuses its token.
const badToken = "Error connecting to Serf agent: Invalid authentication token"

// cmdCase is one run of a command and what it must produce.
type cmdCase struct {
	name string
	args []string
	want cmdResult
}

// runCases runs every case as a subtest, in order, with the arguments
// prefix followed by the case's own.
func runCases(t *testing.T, newCmd func(cli.Ui) cli.Command, prefix []string, cases []cmdCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string(nil), prefix...), tc.args...)
			runWithUI(t, newCmd, args...).check(t, args, tc.want)
		})
	}
}

// failure is a run that exits 1 after printing msg as an error.
func failure(msg string) cmdResult { return cmdResult{code: 1, err: msg + "\n"} }

// usage is a run that exits 1 after printing msg, an empty line and the
// command's help as errors, Serf's answer to wrong arguments.
func usage(msg, help string) cmdResult { return cmdResult{code: 1, err: msg + "\n\n" + help + "\n"} }

// showsHelp is a run that exits 1 after printing the help as output, as
// a bad flag does.
func showsHelp(help string) cmdResult { return cmdResult{code: 1, out: help + "\n"} }

// mockText returns what a command wrote with Output/Info and with Error.
func mockText(ui *cli.MockUi) (out, errOut string) {
	return ui.OutputWriter.String(), ui.ErrorWriter.String()
}

// waitForOutput waits until the command's Output/Info text matches re.
func waitForOutput(t testing.TB, ui *cli.MockUi, re string) {
	t.Helper()
	rx := regexp.MustCompile(re)
	wait.For(t, 20*time.Second, func() error {
		if !rx.MatchString(ui.OutputWriter.String()) {
			return &outputMismatch{re: re, out: ui.OutputWriter.String()}
		}
		return nil
	})
}

type outputMismatch struct{ re, out string }

func (e *outputMismatch) Error() string { return "output " + e.out + " does not match " + e.re }

// runAsync runs a command's Run in a goroutine; the returned function
// waits for it and returns its exit code.
func runAsync(run func([]string) int, args ...string) (wait func(testing.TB) int) {
	done := make(chan int, 1)
	go func() { done <- run(args) }()
	return func(t testing.TB) int {
		t.Helper()
		select {
		case code := <-done:
			return code
		case <-time.After(30 * time.Second):
			t.Fatal("command did not return")
			return -1
		}
	}
}
