package command

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/cli"
)

// keygenSize is the length of the keys keygen makes: 32 bytes, AES-256.
const keygenSize = 32

// KeygenCommand is `serf keygen`: it prints a new random gossip
// encryption key, base64-encoded, ready for -encrypt or a keyring.
type KeygenCommand struct {
	UI cli.Ui

	// random is where the key comes from; nil means crypto/rand. Tests
	// set it to exercise the error paths.
	random io.Reader
}

func (c *KeygenCommand) Synopsis() string {
	return "Generates a new encryption key"
}

func (c *KeygenCommand) Help() string {
	return strings.TrimSpace(`
Usage: serf keygen

  Prints a new random 32-byte encryption key in base64, the form that the
  agent's -encrypt option, the "encrypt_key" setting and "serf keys"
  accept. Arguments are ignored.
`)
}

// Run ignores its arguments, as Serf's keygen does: it has no flags.
func (c *KeygenCommand) Run(_ []string) int {
	r := c.random
	if r == nil {
		r = rand.Reader
	}
	key := make([]byte, keygenSize)
	n, err := r.Read(key)
	if err != nil {
		c.UI.Error(fmt.Sprintf("Error reading random data: %s", err))
		return 1
	}
	if n != keygenSize {
		c.UI.Error("Couldn't read enough entropy. Generate more entropy!")
		return 1
	}
	c.UI.Output(base64.StdEncoding.EncodeToString(key))
	return 0
}
