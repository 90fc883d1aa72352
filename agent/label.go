package agent

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"syscall"

	"github.com/hashicorp/memberlist"
)

// applyGossipGuards sets on ml the keys that decide whom this node gossips
// with, all beyond Serf: the cluster label, the encryption checks of each
// direction and the networks members may come from. The error names the
// key and what is wrong with it.
func applyGossipGuards(c *Config, ml *memberlist.Config) error {
	if len(c.Label) > memberlist.LabelMaxSize {
		return fmt.Errorf("Invalid label: label must be at most %d bytes, not %d", memberlist.LabelMaxSize, len(c.Label))
	}
	nets, err := parseCIDRs("gossip_allowed_cidrs", c.GossipAllowedCIDRs)
	if err != nil {
		return err
	}
	ml.Label = c.Label
	// Unset (a Config built by hand) keeps memberlist's default, true.
	if c.EncryptVerifyIncoming != nil {
		ml.GossipVerifyIncoming = *c.EncryptVerifyIncoming
	}
	if c.EncryptVerifyOutgoing != nil {
		ml.GossipVerifyOutgoing = *c.EncryptVerifyOutgoing
	}
	// nil allows every address; our transport (serf/transport.go) drops
	// packets and streams from outside the networks as well.
	ml.CIDRsAllowed = nets
	return nil
}

// holdRestartOnly puts back into conf, a configuration read again for a
// reload, the old values of the keys that only a restart can change: the
// label, the encryption checks and the allow-lists. memberlist reads its
// settings without a lock on every packet and the listeners are made
// once, so these cannot change under a running agent. It returns the
// keys whose new value was set aside, for Reload's warning.
func holdRestartOnly(old, conf *Config) []string {
	var keys []string
	if old.Label != conf.Label {
		keys = append(keys, "label")
		conf.Label = old.Label
	}
	for _, b := range []struct {
		key      string
		old, new **bool
	}{
		{"encrypt_verify_incoming", &old.EncryptVerifyIncoming, &conf.EncryptVerifyIncoming},
		{"encrypt_verify_outgoing", &old.EncryptVerifyOutgoing, &conf.EncryptVerifyOutgoing},
	} {
		if isTrue(*b.old) != isTrue(*b.new) {
			keys = append(keys, b.key)
			*b.new = *b.old
		}
	}
	for _, l := range []struct {
		key      string
		old, new *[]string
	}{
		{"gossip_allowed_cidrs", &old.GossipAllowedCIDRs, &conf.GossipAllowedCIDRs},
		{"rpc_allowed_cidrs", &old.RPCAllowedCIDRs, &conf.RPCAllowedCIDRs},
		{"http_allowed_cidrs", &old.HTTPAllowedCIDRs, &conf.HTTPAllowedCIDRs},
	} {
		if !slices.Equal(*l.old, *l.new) {
			keys = append(keys, l.key)
			*l.new = *l.old
		}
	}
	return keys
}

// labelJoinHint is what a join error gains when a member hung up on the
// exchange: memberlist closes a stream whose label is not its own without
// a word, so the joiner sees only an EOF, or a reset when the member had
// not read all that was sent. A member whose gossip_allowed_cidrs leave
// out the joiner hangs up the same way.
const labelJoinHint = "a member that hangs up without answering may have another cluster label, or not allow this address"

// labelJoinError is a failed join's error with labelJoinHint and this
// node's label.
type labelJoinError struct {
	err   error
	label string
}

func (e labelJoinError) Error() string {
	own := "none"
	if e.label != "" {
		own = fmt.Sprintf("%q", e.label)
	}
	return fmt.Sprintf("%s (%s; this agent's label: %s)", strings.TrimRight(e.err.Error(), "\n"), labelJoinHint, own)
}

func (e labelJoinError) Unwrap() error { return e.err }

// explainJoin adds the label hint to err when a join attempt ended in an
// EOF or a reset; any other error, and nil, is returned as it is. The
// errors come through memberlist as text, so the text is what is matched.
func explainJoin(err error, label string) error {
	if err == nil {
		return err
	}
	if text := err.Error(); !strings.Contains(text, ": "+io.EOF.Error()) &&
		!strings.Contains(text, syscall.ECONNRESET.Error()) {
		return err
	}
	return labelJoinError{err: err, label: label}
}
