package command

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/openserf/serf/client"
	"github.com/ryanuber/columnize"
)

// defaultRPCAddr is where an agent's RPC listens unless told otherwise.
const defaultRPCAddr = "127.0.0.1:7373"

// rpcFlags adds -rpc-addr (default $SERF_RPC_ADDR, else 127.0.0.1:7373)
// and -rpc-auth (default $SERF_RPC_AUTH) to f.
func rpcFlags(f *flag.FlagSet) (addr, auth *string) {
	def := os.Getenv("SERF_RPC_ADDR")
	if def == "" {
		def = defaultRPCAddr
	}
	addr = f.String("rpc-addr", def, "RPC address of the Serf agent")
	auth = f.String("rpc-auth", os.Getenv("SERF_RPC_AUTH"), "RPC auth token of the Serf agent")
	return addr, auth
}

// rpcClient connects to an agent: dial, handshake, and auth when a token
// is given. Callers print failures with connectError.
func rpcClient(addr, auth string) (*client.RPCClient, error) {
	return client.ClientFromConfig(&client.Config{Addr: addr, AuthKey: auth})
}

// connectError is Serf's message for a failed connection to the agent.
func connectError(err error) string {
	return fmt.Sprintf("Error connecting to Serf agent: %s", err)
}

// formatOutput renders v as "text" (its String method) or "json"
// (indented, as Serf's), trimmed of surrounding white space.
func formatOutput(v any, format string) (string, error) {
	var out string
	switch format {
	case "json":
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return "", err
		}
		out = string(b)
	case "text":
		out = v.(fmt.Stringer).String()
	default:
		return "", fmt.Errorf("Invalid output format \"%s\"", format)
	}
	return strings.TrimSpace(out), nil
}

// columns lays out "a|b|c" rows in aligned columns, as Serf's CLI does.
func columns(rows []string) string {
	return columnize.SimpleFormat(rows)
}

// parseTags reads key=value arguments, split at the first "=".
func parseTags(args []string) (map[string]string, error) {
	tags := make(map[string]string, len(args))
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("Invalid tag: '%s'", a)
		}
		tags[k] = v
	}
	return tags, nil
}

// listFlag is a repeatable string flag.
type listFlag []string

func (f *listFlag) String() string     { return strings.Join(*f, ",") }
func (f *listFlag) Set(v string) error { *f = append(*f, v); return nil }
