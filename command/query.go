package command

import (
	"flag"
	"fmt"
	"time"

	"github.com/hashicorp/cli"
	"github.com/openserf/serf/client"

	"github.com/openserf/serf/command/flags"
)

// queryOptions are the flags of `serf query`.
type queryOptions struct {
	nodes, tags flags.List
	timeout     time.Duration
	noAck       bool
	format      string
	relayFactor int
}

// querySetup is `serf query`: it sends a query through the cluster and
// prints the acks and responses until the agent reports the query done:
// at its deadline or, with acks, once every selected node has answered.
// It returns 0 then, 1 on any failure or an interrupt, after which it
// prints no summary.
func querySetup(f *flag.FlagSet, r *rpcFlags) workFunc {
	var o queryOptions
	f.Var(&o.nodes, "node", "node filter")
	f.Var(&o.tags, "tag", "tag filter")
	f.DurationVar(&o.timeout, "timeout", 0, "query timeout")
	f.BoolVar(&o.noAck, "no-ack", false, "do not request acks")
	f.StringVar(&o.format, "format", "text", "output format")
	f.IntVar(&o.relayFactor, "relay-factor", 0, "response relay count")
	return func(e *env, args []string) int { return o.query(e, r, args) }
}

// Messages of the query command that scripts may match.
const (
	queryNameMissing = "A query name must be specified."
	queryTooManyArgs = "Too many command line arguments. Only a name and payload must be specified."
	queryRelayRange  = "Relay factor must be between 0 and 255"
	queryInterrupted = "Query interrupted"
	queryConnLost    = "Error receiving query results: connection to the Serf agent was lost"
)

// query is the work of `serf query` with the flags in o.
func (o *queryOptions) query(e *env, r *rpcFlags, args []string) int {
	// With -format=json every failure is a JSON object, so that a script
	// reading stdout always gets JSON; with any other format the messages
	// are Serf's.
	fail := func(msg string, withHelp bool) int {
		if o.format == "json" {
			out, err := formatOutput(queryFailure{Error: msg}, "json")
			if err == nil {
				e.ui.Error(out)
				return 1
			}
		}
		if withHelp {
			return e.usage(msg)
		}
		e.ui.Error(msg)
		return 1
	}

	filterTags, err := flags.ParseTags(o.tags)
	if err != nil {
		return fail(fmt.Sprintf("Error: %s", err), false)
	}
	switch {
	case len(args) < 1:
		return fail(queryNameMissing, true)
	case len(args) > 2:
		return fail(queryTooManyArgs, true)
	}
	if o.relayFactor < 0 || o.relayFactor > 255 {
		return fail(queryRelayRange, false)
	}
	name := args[0]
	var payload []byte
	if len(args) == 2 {
		payload = []byte(args[1])
	}

	params := &client.QueryParam{
		FilterNodes: o.nodes,
		FilterTags:  filterTags,
		RequestAck:  !o.noAck,
		RelayFactor: uint8(o.relayFactor),
		Timeout:     o.timeout,
		Name:        name,
		Payload:     payload,
	}
	return r.call(func(msg string) { fail(msg, false) }, func(cl *client.RPCClient) int {
		return o.send(e, cl, params, fail)
	})
}

// send is the work of query once connected: it sends the query params
// describes, prints its progress as o says and its failures with fail.
func (o *queryOptions) send(e *env, cl *client.RPCClient, params *client.QueryParam, fail func(string, bool) int) int {
	var out queryOutput
	switch o.format {
	case "text":
		out = &textQueryOutput{ui: e.ui, name: params.Name, noAck: o.noAck}
	case "json":
		out = &jsonQueryOutput{ui: e.ui, Responses: map[string]string{}}
	default:
		return fail(fmt.Sprintf("Invalid format: %s", o.format), false)
	}

	// Unbuffered, so that acks and responses are printed in the order the
	// agent sent them: the client queues records and hands them over one
	// at a time.
	ackCh := make(chan string)
	respCh := make(chan client.NodeResponse)
	params.AckCh, params.RespCh = ackCh, respCh
	if err := cl.Query(params); err != nil {
		return fail(fmt.Sprintf("Error sending query: %s", err), false)
	}
	out.started()

	// The client closes both channels after the agent's done record, once
	// everything before it was taken.
	if !receiveBoth(ackCh, respCh, e.interrupt, out.ack, out.response) {
		if o.format == "json" {
			return fail(queryInterrupted, false)
		}
		return 1
	}
	// The channels are closed by the done record, or by the loss of the
	// connection, when the results are incomplete. Serf cannot tell the two
	// apart and prints the totals either way.
	if cl.IsClosed() {
		return fail(queryConnLost, false)
	}
	if err := out.finished(); err != nil {
		return 1
	}
	return 0
}

// queryFailure is the JSON object printed for a failure with -format=json.
type queryFailure struct {
	Error string `json:"error"`
}

// queryOutput prints a query's progress in one format.
type queryOutput interface {
	started()
	ack(from string)
	response(r client.NodeResponse)
	finished() error
}

// textQueryOutput prints each ack and response as it arrives, then the
// totals.
type textQueryOutput struct {
	ui          cli.Ui
	name        string
	noAck       bool
	acks, resps int
}

func (t *textQueryOutput) started() {
	t.ui.Output(fmt.Sprintf("Query '%s' dispatched", t.name))
}

func (t *textQueryOutput) ack(from string) {
	t.acks++
	t.ui.Info(fmt.Sprintf("Ack from '%s'", from))
}

func (t *textQueryOutput) response(r client.NodeResponse) {
	t.resps++
	// Handler output usually ends in a newline; drop one, as Serf does,
	// so that each response takes one line.
	payload := r.Payload
	if n := len(payload); n > 0 && payload[n-1] == '\n' {
		payload = payload[:n-1]
	}
	t.ui.Info(fmt.Sprintf("Response from '%s': %s", r.From, payload))
}

func (t *textQueryOutput) finished() error {
	if !t.noAck {
		t.ui.Output(fmt.Sprintf("Total Acks: %d", t.acks))
	}
	t.ui.Output(fmt.Sprintf("Total Responses: %d", t.resps))
	return nil
}

// jsonQueryOutput collects the results and prints them as one object,
// {"Acks": [...], "Responses": {node: payload}}. The exported field names
// are the JSON keys, as in Serf; payloads keep their trailing newline.
type jsonQueryOutput struct {
	ui        cli.Ui
	Acks      []string
	Responses map[string]string
}

func (j *jsonQueryOutput) started() {}

func (j *jsonQueryOutput) ack(from string) {
	j.Acks = append(j.Acks, from)
}

func (j *jsonQueryOutput) response(r client.NodeResponse) {
	j.Responses[r.From] = string(r.Payload)
}

func (j *jsonQueryOutput) finished() error {
	out, err := formatOutput(j, "json")
	if err != nil {
		j.ui.Error(fmt.Sprintf("Encoding error: %s", err))
		return err
	}
	j.ui.Output(out)
	return nil
}

// queryHelp is what "serf query -h" prints.
const queryHelp = `
Usage: serf query [options] name payload

  Sends a query named "name", with an optional payload, to the nodes of the
  cluster and prints the nodes that acknowledge it and the responses they
  send back until the query times out or, with acks, until every node it
  is sent to has acknowledged and responded.

Options:

  -format                   How to print the result: 'text' (the default)
                            prints acks and responses as they arrive, 'json'
                            prints one JSON object when the query is over.

  -node=NAME                Send the query only to the node with this name.
                            Repeat the flag to name several nodes.

  -tag key=regexp           Send the query only to nodes whose tag "key"
                            matches the regular expression. Repeat the flag
                            to require several tags.

  -timeout="15s"            How long to wait for responses, as a duration
                            such as "5s". Without it the agent picks a
                            timeout from the size of the cluster.

  -no-ack                   Do not ask nodes to acknowledge the query; only
                            responses are collected.

  -relay-factor             Ask each responding node to also send its
                            response through this many other nodes (0-255),
                            in case the direct path loses it.

  -rpc-addr=127.0.0.1:7373  RPC address of the Serf agent.

  -rpc-auth=""              RPC auth token of the Serf agent.
`
