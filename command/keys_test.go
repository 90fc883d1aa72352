package command

import (
	"bytes"
	"encoding/base64"
	"testing"

	"github.com/hashicorp/cli"
	"github.com/openserf/serf/client"
)

// keysTestKey returns a 32-byte key filled with b, and its base64 form.
func keysTestKey(b byte) ([]byte, string) {
	raw := bytes.Repeat([]byte{b}, 32)
	return raw, base64.StdEncoding.EncodeToString(raw)
}

// runKeys runs the keys command and returns its exit code and texts.
func runKeys(args ...string) (code int, out, errOut string) {
	ui := cli.NewMockUi()
	code = (&KeysCommand{UI: ui}).Run(args)
	out, errOut = mockText(ui)
	return code, out, errOut
}

func TestKeysCommandUsage(t *testing.T) {
	t.Parallel()
	dead, connErr := deadRPCAddr(t)
	help := (&KeysCommand{}).Help()
	const onlyOne = "Only one of -install, -use, -remove, or -list allowed\n"
	cases := []struct {
		name    string
		args    []string
		wantOut string
		wantErr string
	}{
		{"no action", nil, "", help + "\n"},
		{"empty keys are no action", []string{"-install=", "-use", "", "-remove="}, "", help + "\n"},
		{"install and use", []string{"-install=a", "-use=b"}, "", onlyOne},
		{"list and remove", []string{"-list", "-remove=a"}, "", onlyOne},
		{"all four", []string{"-list", "-install=a", "-use=a", "-remove=a"}, "", onlyOne},
		{"bad flag", []string{"-list=maybe"}, help + "\n", ""},
		// An empty key does not count, so this is a lone -list, which
		// goes on to connect.
		{"list and empty install", []string{"-install=", "-list"}, "", connErr},
		{"no agent", []string{"-install=a"}, "", connErr},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-rpc-addr=" + dead}, tc.args...)
			code, out, errOut := runKeys(args...)
			if code != 1 || out != tc.wantOut || errOut != tc.wantErr {
				t.Errorf("Run(%q) = %d, output %q, error %q; want 1, %q, %q", args, code, out, errOut, tc.wantOut, tc.wantErr)
			}
		})
	}
}

func TestKeysCommandRotation(t *testing.T) {
	t.Parallel()
	raw1, key1 := keysTestKey(1)
	_, key2 := keysTestKey(2)
	_, key3 := keysTestKey(3)
	a := startTestAgent(t, testAgentOptions{Name: "a", Key: raw1})
	b := startTestAgent(t, testAgentOptions{Name: "b", Key: raw1})
	joinAgents(t, a, b)
	addr := "-rpc-addr=" + a.RPCAddr

	// Each step depends on the keyrings the previous ones left.
	steps := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"list one key", []string{"-list"}, 0,
			"==> Asking all members for installed keys...\n==> Keys gathered, listing cluster keys...\n\n" +
				key1 + "  [2/2]\n", ""},
		{"install", []string{"-install", key2}, 0,
			"==> Installing key on all members...\n==> Successfully installed key!\n", ""},
		{"install again", []string{"-install=" + key2}, 0,
			"==> Installing key on all members...\n==> Successfully installed key!\n", ""},
		{"list two keys", []string{"-list"}, 0,
			"==> Asking all members for installed keys...\n==> Keys gathered, listing cluster keys...\n\n" +
				key1 + "  [2/2]\n" + key2 + "  [2/2]\n", ""},
		{"use unknown", []string{"-use=" + key3}, 1,
			"==> Changing primary key on all members...\n",
			"failed:  a  requested key is not in the keyring\n" +
				"failed:  b  requested key is not in the keyring\n" +
				"\nError changing primary key: 2/2 nodes reported failure\n"},
		{"use", []string{"-use=" + key2}, 0,
			"==> Changing primary key on all members...\n==> Successfully changed primary key!\n", ""},
		{"remove primary", []string{"-remove=" + key2}, 1,
			"==> Removing key on all members...\n",
			"failed:  a  removing the primary key is not allowed\n" +
				"failed:  b  removing the primary key is not allowed\n" +
				"\nError removing key: 2/2 nodes reported failure\n"},
		{"remove old", []string{"-remove=" + key1}, 0,
			"==> Removing key on all members...\n==> Successfully removed key!\n", ""},
		{"list new key", []string{"-list"}, 0,
			"==> Asking all members for installed keys...\n==> Keys gathered, listing cluster keys...\n\n" +
				key2 + "  [2/2]\n", ""},
		{"install short key", []string{"-install=" + base64.StdEncoding.EncodeToString([]byte("short"))}, 1,
			"==> Installing key on all members...\n",
			"failed:  a  key size must be 16, 24 or 32 bytes\n" +
				"failed:  b  key size must be 16, 24 or 32 bytes\n" +
				"\nError installing key: 2/2 nodes reported failure\n"},
		{"install bad base64", []string{"-install=!!!"}, 1,
			"==> Installing key on all members...\n",
			"\nError installing key: illegal base64 data at input byte 0\n"},
	}
	for _, st := range steps {
		args := append([]string{addr}, st.args...)
		code, out, errOut := runKeys(args...)
		if code != st.wantCode || out != st.wantOut || errOut != st.wantErr {
			t.Errorf("%s: Run(%q) = %d, output %q, error %q;\nwant %d, %q, %q",
				st.name, args, code, out, errOut, st.wantCode, st.wantOut, st.wantErr)
		}
	}
}

func TestKeysCommandWithoutEncryption(t *testing.T) {
	t.Parallel()
	a := startTestAgent(t, testAgentOptions{Name: "a"})
	b := startTestAgent(t, testAgentOptions{Name: "b"})
	joinAgents(t, a, b)
	_, key := keysTestKey(9)
	addr := "-rpc-addr=" + b.RPCAddr
	noKeyring := "failed:  a  No keyring to modify (encryption not enabled)\n" +
		"failed:  b  No keyring to modify (encryption not enabled)\n\n"
	cases := []struct {
		name    string
		args    []string
		wantOut string
		wantErr string
	}{
		{"list", []string{"-list"}, "==> Asking all members for installed keys...\n",
			"failed:  a  Keyring is empty (encryption not enabled)\n" +
				"failed:  b  Keyring is empty (encryption not enabled)\n" +
				"\nFailed to gather member keys: 2/2 nodes reported failure\n"},
		{"install", []string{"-install=" + key}, "==> Installing key on all members...\n",
			noKeyring + "Error installing key: 2/2 nodes reported failure\n"},
		{"use", []string{"-use=" + key}, "==> Changing primary key on all members...\n",
			noKeyring + "Error changing primary key: 2/2 nodes reported failure\n"},
		{"remove", []string{"-remove=" + key}, "==> Removing key on all members...\n",
			noKeyring + "Error removing key: 2/2 nodes reported failure\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{addr}, tc.args...)
			code, out, errOut := runKeys(args...)
			if code != 1 || out != tc.wantOut || errOut != tc.wantErr {
				t.Errorf("Run(%q) = %d, output %q, error %q;\nwant 1, %q, %q", args, code, out, errOut, tc.wantOut, tc.wantErr)
			}
		})
	}
}

func TestKeysCommandAuth(t *testing.T) {
	t.Parallel()
	raw, key := keysTestKey(4)
	a := startTestAgent(t, testAgentOptions{Name: "a", Key: raw, AuthKey: "secret"})
	cases := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"no token", []string{"-list"}, 1, "==> Asking all members for installed keys...\n",
			"\nFailed to gather member keys: Authentication required\n"},
		{"no token install", []string{"-install=" + key}, 1, "==> Installing key on all members...\n",
			"\nError installing key: Authentication required\n"},
		{"wrong token", []string{"-rpc-auth=nope", "-list"}, 1, "",
			"Error connecting to Serf agent: Invalid authentication token\n"},
		{"token", []string{"-rpc-auth=secret", "-list"}, 0,
			"==> Asking all members for installed keys...\n==> Keys gathered, listing cluster keys...\n\n" +
				key + "  [1/1]\n", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-rpc-addr=" + a.RPCAddr}, tc.args...)
			code, out, errOut := runKeys(args...)
			if code != tc.wantCode || out != tc.wantOut || errOut != tc.wantErr {
				t.Errorf("Run(%q) = %d, output %q, error %q;\nwant %d, %q, %q",
					args, code, out, errOut, tc.wantCode, tc.wantOut, tc.wantErr)
			}
		})
	}
}

// TestKeysCommandPartialFailure checks the table and the count when only
// some nodes fail, with a fake agent: its names sort apart from the order
// it sends them in.
func TestKeysCommandPartialFailure(t *testing.T) {
	t.Parallel()
	fa := startFakeAgent(t, func(fc *fakeConn, h client.RequestHeader) bool {
		var req client.KeyRequest
		if h.Command != client.UseKeyCommand || fc.body(&req) != nil {
			return false
		}
		resp := &client.KeyResponse{
			Messages: map[string]string{"zeta": "requested key is not in the keyring", "alpha-long-name": "timeout"},
			NumNodes: 5, NumErr: 2, NumResp: 4,
		}
		return fc.send(h.Seq, "4/5 nodes reported success", resp) == nil
	})
	code, out, errOut := runKeys("-rpc-addr="+fa.addr, "-use=k")
	wantErr := "failed:  alpha-long-name  timeout\n" +
		"failed:  zeta             requested key is not in the keyring\n" +
		"\nError changing primary key: 4/5 nodes reported success\n"
	if code != 1 || out != "==> Changing primary key on all members...\n" || errOut != wantErr {
		t.Errorf("Run(-use=k) = %d, output %q, error %q; want 1, the start line, %q", code, out, errOut, wantErr)
	}
}
