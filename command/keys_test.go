package command

import (
	"bytes"
	"encoding/base64"
	"testing"

	"github.com/openserf/serf/client"
)

// keysTestKey returns a 32-byte key filled with b, and its base64 form.
func keysTestKey(b byte) ([]byte, string) {
	raw := bytes.Repeat([]byte{b}, 32)
	return raw, base64.StdEncoding.EncodeToString(raw)
}

// bothRefuse is a keys run against members a and b that both report
// msg: start is printed, then the failures, then fail and the count.
func bothRefuse(start, msg, fail string) cmdResult {
	return cmdResult{code: 1, out: start, err: "failed:  a  " + msg + "\nfailed:  b  " + msg + "\n" +
		"\n" + fail + ": 2/2 nodes reported failure\n"}
}

func TestKeysCommandUsage(t *testing.T) {
	t.Parallel()
	dead, connErr := refusedRPCAddr(t)
	help := helpOf("keys")
	onlyOne := failure("Only one of -install, -use, -remove, or -list allowed")
	runCases(t, named("keys"), []string{"-rpc-addr=" + dead}, []cmdCase{
		{"no action", nil, failure(help)},
		{"empty keys are no action", []string{"-install=", "-use", "", "-remove="}, failure(help)},
		{"install and use", []string{"-install=a", "-use=b"}, onlyOne},
		{"list and remove", []string{"-list", "-remove=a"}, onlyOne},
		{"all four", []string{"-list", "-install=a", "-use=a", "-remove=a"}, onlyOne},
		{"bad flag", []string{"-list=maybe"}, showsHelp(help)},
		// An empty key does not count, so this is a lone -list, which
		// goes on to connect.
		{"list and empty install", []string{"-install=", "-list"}, failure(connErr)},
		{"no agent", []string{"-install=a"}, failure(connErr)},
	})
}

func TestKeysCommandRotation(t *testing.T) {
	t.Parallel()
	raw1, key1 := keysTestKey(1)
	_, key2 := keysTestKey(2)
	_, key3 := keysTestKey(3)
	a, _ := startPair(t, testAgentOptions{Name: "a", Key: raw1}, testAgentOptions{Name: "b", Key: raw1})
	addr := "-rpc-addr=" + a.RPCAddr

	listed := func(keys ...string) string {
		out := "==> Asking all members for installed keys...\n==> Keys gathered, listing cluster keys...\n\n"
		for _, k := range keys {
			out += k + "  [2/2]\n"
		}
		return out
	}
	const (
		installing = "==> Installing key on all members...\n"
		changing   = "==> Changing primary key on all members...\n"
		removing   = "==> Removing key on all members...\n"
	)
	// Each step depends on the keyrings the previous ones left: the
	// subtests run in order.
	runCases(t, named("keys"), []string{addr}, []cmdCase{
		{"list one key", []string{"-list"}, cmdResult{out: listed(key1)}},
		{"install", []string{"-install", key2}, cmdResult{out: installing + "==> Successfully installed key!\n"}},
		{"install again", []string{"-install=" + key2}, cmdResult{out: installing + "==> Successfully installed key!\n"}},
		{"list two keys", []string{"-list"}, cmdResult{out: listed(key1, key2)}},
		{"use unknown", []string{"-use=" + key3},
			bothRefuse(changing, "requested key is not in the keyring", "Error changing primary key")},
		{"use", []string{"-use=" + key2}, cmdResult{out: changing + "==> Successfully changed primary key!\n"}},
		{"remove primary", []string{"-remove=" + key2},
			bothRefuse(removing, "removing the primary key is not allowed", "Error removing key")},
		{"remove old", []string{"-remove=" + key1}, cmdResult{out: removing + "==> Successfully removed key!\n"}},
		{"list new key", []string{"-list"}, cmdResult{out: listed(key2)}},
		{"install short key", []string{"-install=" + base64.StdEncoding.EncodeToString([]byte("short"))},
			bothRefuse(installing, "key size must be 16, 24 or 32 bytes", "Error installing key")},
		{"install bad base64", []string{"-install=!!!"}, cmdResult{code: 1, out: installing,
			err: "\nError installing key: illegal base64 data at input byte 0\n"}},
	})
}

func TestKeysCommandWithoutEncryption(t *testing.T) {
	t.Parallel()
	_, b := startPair(t, testAgentOptions{Name: "a"}, testAgentOptions{Name: "b"})
	_, key := keysTestKey(9)
	addr := "-rpc-addr=" + b.RPCAddr
	const noKeyring = "No keyring to modify (encryption not enabled)"
	runCases(t, named("keys"), []string{addr}, []cmdCase{
		{"list", []string{"-list"}, bothRefuse("==> Asking all members for installed keys...\n",
			"Keyring is empty (encryption not enabled)", "Failed to gather member keys")},
		{"install", []string{"-install=" + key},
			bothRefuse("==> Installing key on all members...\n", noKeyring, "Error installing key")},
		{"use", []string{"-use=" + key},
			bothRefuse("==> Changing primary key on all members...\n", noKeyring, "Error changing primary key")},
		{"remove", []string{"-remove=" + key},
			bothRefuse("==> Removing key on all members...\n", noKeyring, "Error removing key")},
	})
}

func TestKeysCommandAuth(t *testing.T) {
	t.Parallel()
	raw, key := keysTestKey(4)
	a := startTestAgent(t, testAgentOptions{Name: "a", Key: raw, AuthKey: "secret"})
	runCases(t, named("keys"), []string{"-rpc-addr=" + a.RPCAddr}, []cmdCase{
		{"no token", []string{"-list"}, cmdResult{code: 1, out: "==> Asking all members for installed keys...\n",
			err: "\nFailed to gather member keys: Authentication required\n"}},
		{"no token install", []string{"-install=" + key}, cmdResult{code: 1, out: "==> Installing key on all members...\n",
			err: "\nError installing key: Authentication required\n"}},
		{"wrong token", []string{"-rpc-auth=nope", "-list"}, failure(badToken)},
		{"token", []string{"-rpc-auth=secret", "-list"}, cmdResult{out: "==> Asking all members for installed keys...\n" +
			"==> Keys gathered, listing cluster keys...\n\n" + key + "  [1/1]\n"}},
	})
}

// TestKeysCommandPartialFailure checks the table and the count when only
// some nodes fail, with a fake agent: its names sort apart from the order
// it sends them in.
func TestKeysCommandPartialFailure(t *testing.T) {
	t.Parallel()
	fa := startFakeAgent(t, answer(client.UseKeyCommand, func(fc *fakeConn, seq uint64, _ *client.KeyRequest) bool {
		resp := &client.KeyResponse{
			Messages: map[string]string{"zeta": "requested key is not in the keyring", "alpha-long-name": "timeout"},
			NumNodes: 5, NumErr: 2, NumResp: 4,
		}
		return fc.send(seq, "4/5 nodes reported success", resp) == nil
	}))
	args := []string{"-rpc-addr=" + fa.addr, "-use=k"}
	runWithUI(t, named("keys"), args...).check(t, args, cmdResult{code: 1, out: "==> Changing primary key on all members...\n",
		err: "failed:  alpha-long-name  timeout\n" +
			"failed:  zeta             requested key is not in the keyring\n" +
			"\nError changing primary key: 4/5 nodes reported success\n"})
}
