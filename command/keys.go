package command

import (
	"flag"
	"fmt"

	"github.com/hashicorp/cli"
	"github.com/openserf/serf/client"
)

// keysOptions are the flags of `serf keys`.
type keysOptions struct {
	install, use, remove string
	list                 bool
}

// keysSetup is `serf keys`: it installs, switches to, removes or lists
// the gossip encryption keys of every member of the cluster, exactly one
// of the four.
func keysSetup(f *flag.FlagSet, r *rpcFlags) workFunc {
	var o keysOptions
	f.StringVar(&o.install, "install", "", "install a new key")
	f.StringVar(&o.use, "use", "", "change the primary key")
	f.StringVar(&o.remove, "remove", "", "remove a key")
	f.BoolVar(&o.list, "list", false, "list the cluster's keys")
	return func(e *env, _ []string) int {
		ui := &cli.PrefixedUi{InfoPrefix: "==> ", Ui: e.ui}
		// An empty key does not count as an action.
		actions := 0
		if o.list {
			actions++
		}
		for _, k := range []string{o.install, o.use, o.remove} {
			if k != "" {
				actions++
			}
		}
		if actions > 1 {
			ui.Error("Only one of -install, -use, -remove, or -list allowed")
			return 1
		}
		if actions == 0 {
			ui.Error(e.help)
			return 1
		}
		return r.call(ui.Error, func(cl *client.RPCClient) int { return o.act(ui, cl) })
	}
}

// act performs the one action o names with the connected client.
func (o *keysOptions) act(ui cli.Ui, cl *client.RPCClient) int {
	if o.list {
		ui.Info("Asking all members for installed keys...")
		keys, numNodes, failures, err := cl.ListKeys()
		if err != nil {
			return keysFailed(ui, failures, fmt.Sprintf("Failed to gather member keys: %s", err))
		}
		ui.Info("Keys gathered, listing cluster keys...")
		ui.Output("")
		// Serf lists in map order; sorted, the output is stable.
		rows := make([]string, 0, len(keys))
		for _, k := range sortedKeys(keys) {
			rows = append(rows, fmt.Sprintf("%s | [%d/%d]", k, keys[k], numNodes))
		}
		ui.Output(columns(rows))
		return 0
	}

	var (
		key                 string
		call                func(string) (map[string]string, error)
		start, fail, finish string
	)
	switch {
	case o.install != "":
		key, call = o.install, cl.InstallKey
		start = "Installing key on all members..."
		fail = "Error installing key: %s"
		finish = "Successfully installed key!"
	case o.use != "":
		key, call = o.use, cl.UseKey
		start = "Changing primary key on all members..."
		fail = "Error changing primary key: %s"
		finish = "Successfully changed primary key!"
	default:
		key, call = o.remove, cl.RemoveKey
		start = "Removing key on all members..."
		fail = "Error removing key: %s"
		finish = "Successfully removed key!"
	}
	ui.Info(start)
	if failures, err := call(key); err != nil {
		return keysFailed(ui, failures, fmt.Sprintf(fail, err))
	}
	ui.Info(finish)
	return 0
}

// keysFailed prints the members that reported an error (see
// keyFailures), an empty line and msg, and returns the exit code 1.
func keysFailed(ui cli.Ui, failures map[string]string, msg string) int {
	keyFailures(ui, failures)
	ui.Error("")
	ui.Error(msg)
	return 1
}

// keyFailures prints the members that reported an error, one per line as
// "failed:  <node>  <message>", sorted by node name. Nothing is printed
// when there are none, for example when the request itself was refused.
func keyFailures(ui cli.Ui, failures map[string]string) {
	if len(failures) == 0 {
		return
	}
	rows := make([]string, 0, len(failures))
	for _, n := range sortedKeys(failures) {
		rows = append(rows, fmt.Sprintf("failed: | %s | %s", n, failures[n]))
	}
	ui.Error(columns(rows))
}

// keysHelp is what "serf keys -h" prints.
const keysHelp = `
Usage: serf keys [options]...

  Changes or lists the gossip encryption keyring of every member of the
  cluster at once: the agent sends the request to all members, which apply
  it to their own keyring and report back. Repeating a change is harmless.

  A keyring can hold several keys so that keys can be rotated without
  downtime. The primary key encrypts outgoing messages; every key in the
  ring is tried on incoming ones. A rotation installs the new key, makes it
  primary, then removes the old one. Keep more than one key only while
  rotating: each extra key costs a decryption attempt per message.

  The command exits 0 when every member answered and none reported an
  error, and 1 otherwise.

Options:

  -install=<key>            Add a key (base64) to every keyring. It is used
                            to decrypt at once, and to encrypt only after it
                            is made primary with -use.
  -use=<key>                Make an installed key the primary key on every
                            member. Members without the key cannot follow
                            the change, so install it everywhere first.
  -remove=<key>             Delete a key from every keyring. The primary key
                            cannot be removed.
  -list                     Ask every member for its keys and print each key
                            with the number of members that hold it.
  -rpc-addr=127.0.0.1:7373  RPC address of the Serf agent.
  -rpc-auth=""              RPC auth token of the Serf agent.
`
