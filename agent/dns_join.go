package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// srvPrefix starts a join address that names a DNS SRV record set rather
// than a host, as in "dns+srv://_serf._tcp.example.org". Every join
// (start_join, retry_join, `serf join`) looks the name up again, and joins
// every address of every target the records name, on the record's port.
// No address memberlist accepts can start so ("host", "host:port",
// "node/host:port"), so those keep their meaning.
const srvPrefix = "dns+srv://"

// srvLookupTimeout bounds the lookups of one join address: its SRV
// records and then their targets' addresses.
const srvLookupTimeout = 30 * time.Second

// errNoSRVRecords is the lookup of an SRV name that gave no record with a
// target; a record whose target is "." says that the service is not there
// (RFC 2782).
var errNoSRVRecords = errors.New("no SRV records with a target")

// resolver is what looks up SRV names: Options.Resolver, or Go's default.
func (a *Agent) resolver() *net.Resolver {
	if a.opts.Resolver != nil {
		return a.opts.Resolver
	}
	return net.DefaultResolver
}

// resolveJoinAddrs replaces every srvPrefix address in addrs by the
// "ip:port" addresses it names now and keeps every other address as it
// is, for memberlist to resolve at the join itself. An SRV name that
// gives no address is left out, logged, and its error returned with the
// others; the join goes on with the rest.
func (a *Agent) resolveJoinAddrs(ctx context.Context, addrs []string) ([]string, error) {
	out := make([]string, 0, len(addrs))
	var errs []error
	for _, addr := range addrs {
		name, ok := strings.CutPrefix(addr, srvPrefix)
		if !ok {
			out = append(out, addr)
			continue
		}
		found, err := lookupSRVAddrs(ctx, a.resolver(), name)
		if err != nil {
			a.logger.Printf("[WARN] agent: failed to resolve %s: %v", addr, err)
			errs = append(errs, fmt.Errorf("failed to resolve %s: %w", addr, err))
			continue
		}
		a.logger.Printf("[DEBUG] agent: %s resolved to %v", addr, found)
		out = append(out, found...)
	}
	return out, errors.Join(errs...)
}

// lookupSRVAddrs looks up name's SRV records with r, then the A and AAAA
// records of each record's target, and returns every address found with
// its record's port, in the records' order (priority, then a weighted
// shuffle, as net.Resolver sorts them). A target that does not resolve
// is skipped while another one does.
func lookupSRVAddrs(ctx context.Context, r *net.Resolver, name string) ([]string, error) {
	if name == "" {
		return nil, errors.New("no SRV name after " + srvPrefix)
	}
	ctx, cancel := context.WithTimeout(ctx, srvLookupTimeout)
	defer cancel()
	// With an empty service and protocol the name is looked up as given.
	_, srvs, err := r.LookupSRV(ctx, "", "", name)
	if len(srvs) == 0 {
		// The resolver also returns the valid records of an answer
		// that has some invalid ones, with an error.
		if err == nil {
			err = errNoSRVRecords
		}
		return nil, err
	}
	var out []string
	var errs []error
	for _, srv := range srvs {
		if srv.Target == "." || srv.Target == "" {
			continue
		}
		ips, err := r.LookupIPAddr(ctx, srv.Target)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		port := strconv.Itoa(int(srv.Port))
		for _, ip := range ips {
			out = append(out, net.JoinHostPort(ip.IP.String(), port))
		}
	}
	if len(out) == 0 {
		if len(errs) == 0 {
			return nil, errNoSRVRecords
		}
		return nil, errors.Join(errs...)
	}
	return out, nil
}
