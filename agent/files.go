package agent

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/hashicorp/memberlist"
	"github.com/openserf/serf/internal/atomicfile"
)

// loadFiles restores the tags and the keyring from their files, when the
// options name them, into the serf configuration.
func (a *Agent) loadFiles() error {
	if a.opts.TagsFile != "" {
		if err := a.loadTagsFile(); err != nil {
			return err
		}
	}
	if a.opts.KeyringFile != "" {
		if err := a.loadKeyringFile(); err != nil {
			return err
		}
	}
	return nil
}

func (a *Agent) loadTagsFile() error {
	if len(a.serfConf.Tags) > 0 {
		return errTagsWithTagsFile
	}
	data, err := os.ReadFile(a.opts.TagsFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("Failed to read tags file: %w", err)
	}
	tags := map[string]string{}
	if err := json.Unmarshal(data, &tags); err != nil {
		return fmt.Errorf("Failed to decode tags file: %w", err)
	}
	a.serfConf.Tags = tags
	a.logger.Printf("[INFO] agent: Restored %d tag(s) from %s", len(tags), a.opts.TagsFile)
	return nil
}

// writeTagsFile saves tags as indented JSON, replacing the file (the
// target of a symlink) atomically; a new file gets mode 0600, an existing
// one keeps its mode and owner.
func writeTagsFile(path string, tags map[string]string) error {
	data, err := json.MarshalIndent(tags, "", "  ")
	if err != nil {
		return fmt.Errorf("Failed to encode tags: %w", err)
	}
	if err := atomicfile.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("Failed to write tags file: %w", err)
	}
	return nil
}

func (a *Agent) loadKeyringFile() error {
	if a.opts.EncryptKey != "" {
		return errKeyWithKeyring
	}
	if _, err := os.Stat(a.opts.KeyringFile); err != nil {
		return err
	}
	data, err := os.ReadFile(a.opts.KeyringFile)
	if err != nil {
		return fmt.Errorf("Failed to read keyring file: %w", err)
	}
	var encoded []string
	if err := json.Unmarshal(data, &encoded); err != nil {
		return fmt.Errorf("Failed to decode keyring file: %w", err)
	}
	keys := make([][]byte, 0, len(encoded))
	for _, k := range encoded {
		raw, err := base64.StdEncoding.DecodeString(k)
		if err != nil {
			return fmt.Errorf("Failed to decode key from keyring: %w", err)
		}
		keys = append(keys, raw)
	}
	if len(keys) == 0 {
		return errors.New("Keyring file contains no keys")
	}
	ring, err := memberlist.NewKeyring(keys, keys[0])
	if err != nil {
		return fmt.Errorf("Failed to restore keyring: %w", err)
	}
	a.serfConf.MemberlistConfig.Keyring = ring
	a.serfConf.KeyringFile = a.opts.KeyringFile
	a.logger.Printf("[INFO] agent: Restored keyring with %d keys from %s", len(keys), a.opts.KeyringFile)
	return nil
}
