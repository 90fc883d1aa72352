package command

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/openserf/serf/internal/testutil/wait"
)

func TestEventCommand(t *testing.T) {
	a := startTestAgent(t, testAgentOptions{Name: "event-a"})
	rpc := a.client(t)
	events := make(chan map[string]any, 64)
	if _, err := rpc.Stream("user", events); err != nil {
		t.Fatalf("Stream() error: %v", err)
	}
	// The agent answers a stream request before it registers the stream,
	// as Serf's does, so events sent at once can be missed. Send warm-up
	// events until one comes through; nextEvent skips any others.
	wait.For(t, 10*time.Second, func() error {
		if err := rpc.UserEvent("warmup", nil, false); err != nil {
			return err
		}
		select {
		case <-events:
			return nil
		case <-time.After(100 * time.Millisecond):
			return errors.New("the stream has not started")
		}
	})
	nextEvent := func() (map[string]any, bool) {
		timeout := time.After(10 * time.Second)
		for {
			select {
			case e := <-events:
				if e["Name"] != "warmup" {
					return e, true
				}
			case <-timeout:
				return nil, false
			}
		}
	}

	tests := []struct {
		name     string
		args     []string
		want     string
		payload  []byte
		coalesce bool
	}{
		{"name only", []string{"deploy"}, "Event 'deploy' dispatched! Coalescing enabled: true\n", nil, true},
		{"payload", []string{"deploy", "v1.2"}, "Event 'deploy' dispatched! Coalescing enabled: true\n", []byte("v1.2"), true},
		{"no coalescing", []string{"-coalesce=false", "restart", "now"},
			"Event 'restart' dispatched! Coalescing enabled: false\n", []byte("now"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"-rpc-addr=" + a.RPCAddr}, tt.args...)
			runWithUI(t, named("event"), args...).check(t, args, cmdResult{out: tt.want})

			e, ok := nextEvent()
			if !ok {
				t.Fatal("the agent streamed no user event within 10s")
			}
			name, _ := e["Name"].(string)
			payload, _ := e["Payload"].([]byte)
			coalesce, _ := e["Coalesce"].(bool)
			wantName := tt.args[indexOfName(tt.args)]
			if name != wantName || !bytes.Equal(payload, tt.payload) || coalesce != tt.coalesce {
				t.Errorf("streamed event = %v, want Name %q, Payload %q, Coalesce %v",
					e, wantName, tt.payload, tt.coalesce)
			}
		})
	}
}

// indexOfName returns the index of the first argument that is not a flag.
func indexOfName(args []string) int {
	for i, a := range args {
		if !strings.HasPrefix(a, "-") {
			return i
		}
	}
	return len(args)
}

func TestEventCommandErrors(t *testing.T) {
	a := startTestAgent(t, testAgentOptions{Name: "event-err"})
	addr, msg := refusedRPCAddr(t)
	help := helpOf("event")

	runCases(t, named("event"), nil, []cmdCase{
		{"no name", []string{"-rpc-addr=" + a.RPCAddr}, usage("An event name must be specified.", help)},
		{"too many", []string{"-rpc-addr=" + a.RPCAddr, "a", "b", "c"},
			usage("Too many command line arguments. Only a name and payload must be specified.", help)},
		{"too large", []string{"-rpc-addr=" + a.RPCAddr, "big", strings.Repeat("x", 512)},
			failure("Error sending event: user event exceeds configured limit of 512 bytes before encoding")},
		{"too large encoded", []string{"-rpc-addr=" + a.RPCAddr, "big", strings.Repeat("x", 500)},
			failure("Error sending event: encoded user event exceeds configured limit of 512 bytes after encoding")},
		{"no agent", []string{"-rpc-addr=" + addr, "deploy"}, failure(msg)},
		{"bad bool", []string{"-coalesce=maybe", "deploy"}, showsHelp(help)},
	})
}
