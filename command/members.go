package command

import (
	"flag"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/openserf/serf/client"

	"github.com/openserf/serf/command/flags"
)

// roleDeprecation is printed when members is given -role, which Serf
// keeps only as a shorthand for "-tag role=...".
const roleDeprecation = "Deprecation warning: 'Role' has been replaced with 'Tags'"

// membersOptions holds the parsed flags of `serf members`.
type membersOptions struct {
	detailed bool
	format   string
	name     string
	role     string
	status   string
	tags     flags.List
}

// membersSetup is `serf members`: it lists the members a running agent
// knows, optionally filtered by name, status and tags.
func membersSetup(f *flag.FlagSet, r *rpcFlags) workFunc {
	var o membersOptions
	f.BoolVar(&o.detailed, "detailed", false, "show protocol versions")
	f.StringVar(&o.format, "format", "text", "output format")
	f.StringVar(&o.name, "name", "", "name filter")
	f.StringVar(&o.role, "role", "", "role filter (deprecated)")
	f.StringVar(&o.status, "status", "", "status filter")
	f.Var(&o.tags, "tag", "tag filter, key=regexp")
	return func(e *env, _ []string) int { return o.list(e, r) }
}

// list is the work of `serf members` with the flags in o.
func (o *membersOptions) list(e *env, r *rpcFlags) int {
	if o.role != "" {
		// Printed even with -format=json, as Serf does: a script written
		// for Serf's output expects the line there.
		e.ui.Output(roleDeprecation)
		o.tags = append(o.tags, "role="+o.role)
	}
	filter, err := flags.ParseTags(o.tags)
	if err != nil {
		return printFailure(e.ui, o.format, fmt.Sprintf("Error: %s", err))
	}

	return r.call(func(msg string) { printFailure(e.ui, o.format, msg) }, func(rpc *client.RPCClient) int {
		members, err := rpc.MembersFiltered(filter, o.status, o.name)
		if err != nil {
			return printFailure(e.ui, o.format, fmt.Sprintf("Error retrieving members: %s", err))
		}
		return printOutput(e.ui, newMembersOutput(members, o.detailed), o.format)
	})
}

// membersOutput is what members prints. Its JSON shape is Serf's:
// {"members": [...]}, with null when no member matched.
type membersOutput struct {
	Members []memberOutput `json:"members"`

	detailed bool // add the protocol columns to the text form
}

// memberOutput is one member as members prints it. The field names are
// the JSON keys Serf uses; new fields may be added, none removed.
type memberOutput struct {
	Name     string            `json:"name"`
	Addr     string            `json:"addr"` // ip:port, IPv6 in brackets
	Port     uint16            `json:"port"`
	Tags     map[string]string `json:"tags"` // {} rather than null when empty
	Status   string            `json:"status"`
	Protocol memberProtocol    `json:"protocol"`
}

// memberProtocol is the Serf (not memberlist) protocol range of a member.
// The fields are in the order encoding/json would sort map keys, so the
// output matches Serf's, which uses a map.
type memberProtocol struct {
	Max     uint8 `json:"max"`
	Min     uint8 `json:"min"`
	Version uint8 `json:"version"`
}

// newMembersOutput converts the agent's members, sorted by name so that
// the output is the same from one run to the next (Serf prints them in
// map order).
func newMembersOutput(members []client.Member, detailed bool) membersOutput {
	out := membersOutput{detailed: detailed}
	for _, m := range members {
		tags := m.Tags
		if tags == nil {
			tags = map[string]string{}
		}
		addr := net.TCPAddr{IP: m.Addr, Port: int(m.Port)}
		out.Members = append(out.Members, memberOutput{
			Name:   m.Name,
			Addr:   addr.String(),
			Port:   m.Port,
			Tags:   tags,
			Status: m.Status,
			Protocol: memberProtocol{
				Max:     m.DelegateMax,
				Min:     m.DelegateMin,
				Version: m.DelegateCur,
			},
		})
	}
	slices.SortStableFunc(out.Members, func(a, b memberOutput) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Addr, b.Addr)
	})
	return out
}

// String renders one aligned line per member: name, address, status and
// k=v tags sorted by key. As in Serf, a line whose last column is empty
// keeps its padding; only the end of the whole output is trimmed.
func (o membersOutput) String() string {
	rows := make([]string, 0, len(o.Members))
	for _, m := range o.Members {
		keys := sortedKeys(m.Tags)
		pairs := make([]string, len(keys))
		for i, k := range keys {
			pairs[i] = k + "=" + m.Tags[k]
		}
		row := fmt.Sprintf("%s|%s|%s|%s", m.Name, m.Addr, m.Status, strings.Join(pairs, ","))
		if o.detailed {
			row += fmt.Sprintf("|Protocol Version: %d|Available Protocol Range: [%d, %d]",
				m.Protocol.Version, m.Protocol.Min, m.Protocol.Max)
		}
		rows = append(rows, row)
	}
	return columns(rows)
}

// membersHelp is what "serf members -h" prints.
const membersHelp = `
Usage: serf members [options]

  Shows the members a running Serf agent knows about, including those
  that failed or left and have not been reaped yet. Members are listed by
  name; each line gives the address, the status and the tags.

Options:

  -detailed                 Also show each member's Serf protocol version
                            and the range of versions it understands. Text
                            output only.

  -format                   Output format: 'text' (the default) or 'json'.

  -name=<regexp>            List only the members whose name matches the
                            regular expression, which must match the whole
                            name.

  -role=<regexp>            Deprecated: the same as '-tag role=<regexp>'.

  -status=<regexp>          List only the members whose status (alive,
                            leaving, left or failed) matches the regular
                            expression.

  -tag <key>=<regexp>       List only the members that have a tag <key>
                            whose value matches the regular expression.
                            Give it more than once to require several tags.
                            The expression must match the whole value.

` + rpcAddrHelp + "\n" + rpcAuthHelp
