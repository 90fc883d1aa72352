package command

import (
	"flag"
	"fmt"
	"os"

	"github.com/hashicorp/cli"
	"github.com/openserf/serf/client"
)

// defaultRPCAddr is where an agent's RPC listens unless told otherwise.
const defaultRPCAddr = "127.0.0.1:7373"

// rpcFlags are the options of every command that talks to a running
// agent: -rpc-addr (default $SERF_RPC_ADDR, else 127.0.0.1:7373) and
// -rpc-auth (default $SERF_RPC_AUTH). rpcCommand starts each such
// command's flag set with flagSet; the command's work reaches the agent
// with call.
type rpcFlags struct {
	rpcAddr string
	rpcAuth string
}

// flagSet returns the command's flag set, named name, with -rpc-addr and
// -rpc-auth declared. Parse errors are returned rather than fatal, and
// -h or a bad flag prints help with ui.Output.
func (r *rpcFlags) flagSet(name string, ui cli.Ui, help string) *flag.FlagSet {
	f := flag.NewFlagSet(name, flag.ContinueOnError)
	f.Usage = func() { ui.Output(help) }
	def := os.Getenv("SERF_RPC_ADDR")
	if def == "" {
		def = defaultRPCAddr
	}
	f.StringVar(&r.rpcAddr, "rpc-addr", def, "RPC address of the Serf agent")
	f.StringVar(&r.rpcAuth, "rpc-auth", os.Getenv("SERF_RPC_AUTH"), "RPC auth token of the Serf agent")
	return f
}

// call connects (see connect), hands the client to work and closes it
// when work returns, with work's exit code. When the connection fails it
// returns 1, the failure reported.
func (r *rpcFlags) call(fail func(msg string), work func(*client.RPCClient) int) int {
	cl := r.connect(fail)
	if cl == nil {
		return 1
	}
	defer cl.Close()
	return work(cl)
}

// connect connects to the agent: dial, handshake, and auth when a token
// is given. When that fails it reports Serf's message with fail (the
// command's way of printing an error) and returns nil.
func (r *rpcFlags) connect(fail func(msg string)) *client.RPCClient {
	cl, err := client.ClientFromConfig(&client.Config{Addr: r.rpcAddr, AuthKey: r.rpcAuth})
	if err != nil {
		fail(fmt.Sprintf("Error connecting to Serf agent: %s", err))
		return nil
	}
	return cl
}

// The help of -rpc-addr and -rpc-auth, for the commands whose help spells
// out the environment defaults.
const (
	rpcAddrHelp = `  -rpc-addr=127.0.0.1:7373  Address of the agent's RPC server. Defaults to
                            $SERF_RPC_ADDR when that is set.
`
	rpcAuthHelp = `  -rpc-auth=""              Token for the agent's RPC server. Defaults to
                            $SERF_RPC_AUTH.
`
)
