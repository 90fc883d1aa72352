package serf

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/openserf/serf/internal/atomicfile"
)

// KeyManager changes the gossip keyring of the whole cluster through
// Serf's internal key queries. Changes are serialised; listing may run
// beside other listings.
type KeyManager struct {
	serf *Serf
	lock sync.RWMutex
}

// KeyResponse sums up the answers to a key query.
type KeyResponse struct {
	Messages map[string]string // node name -> what it said, for errors and notes
	NumNodes int               // live members when the query was sent
	NumResp  int               // answers received
	NumErr   int               // answers reporting failure

	// Keys counts, per base64 key, the nodes that have it (list only).
	Keys map[string]int
	// PrimaryKeys counts, per base64 key, the nodes using it as primary.
	PrimaryKeys map[string]int
}

// KeyRequestOptions tunes a key query.
type KeyRequestOptions struct {
	RelayFactor uint8
}

// KeyManager returns the node's key manager.
func (s *Serf) KeyManager() *KeyManager { return s.keyManager }

// InstallKey adds a base64 key to every node's keyring.
func (k *KeyManager) InstallKey(key string) (*KeyResponse, error) {
	return k.InstallKeyWithOptions(key, nil)
}

// InstallKeyWithOptions is InstallKey with options.
func (k *KeyManager) InstallKeyWithOptions(key string, opts *KeyRequestOptions) (*KeyResponse, error) {
	k.lock.Lock()
	defer k.lock.Unlock()
	return k.request(key, installKeyQuery, opts)
}

// UseKey makes an installed key the primary (encrypting) key everywhere.
func (k *KeyManager) UseKey(key string) (*KeyResponse, error) {
	return k.UseKeyWithOptions(key, nil)
}

// UseKeyWithOptions is UseKey with options.
func (k *KeyManager) UseKeyWithOptions(key string, opts *KeyRequestOptions) (*KeyResponse, error) {
	k.lock.Lock()
	defer k.lock.Unlock()
	return k.request(key, useKeyQuery, opts)
}

// RemoveKey removes a key that is not primary from every keyring.
func (k *KeyManager) RemoveKey(key string) (*KeyResponse, error) {
	return k.RemoveKeyWithOptions(key, nil)
}

// RemoveKeyWithOptions is RemoveKey with options.
func (k *KeyManager) RemoveKeyWithOptions(key string, opts *KeyRequestOptions) (*KeyResponse, error) {
	k.lock.Lock()
	defer k.lock.Unlock()
	return k.request(key, removeKeyQuery, opts)
}

// ListKeys asks every node for its keys.
func (k *KeyManager) ListKeys() (*KeyResponse, error) {
	return k.ListKeysWithOptions(nil)
}

// ListKeysWithOptions is ListKeys with options.
func (k *KeyManager) ListKeysWithOptions(opts *KeyRequestOptions) (*KeyResponse, error) {
	k.lock.RLock()
	defer k.lock.RUnlock()
	return k.request("", listKeysQuery, opts)
}

// request runs one key query and gathers the answers until every live
// node answered or the query timed out.
func (k *KeyManager) request(key, op string, opts *KeyRequestOptions) (*KeyResponse, error) {
	resp := &KeyResponse{
		Messages:    make(map[string]string),
		Keys:        make(map[string]int),
		PrimaryKeys: make(map[string]int),
	}
	raw, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		return resp, err
	}
	payload, err := encodeMessage(messageKeyRequestType, keyRequest{Key: raw})
	if err != nil {
		return resp, err
	}
	params := k.serf.DefaultQueryParams()
	params.redeliverUnanswered = true
	if opts != nil {
		params.RelayFactor = opts.RelayFactor
	}
	q, err := k.serf.Query(InternalQueryPrefix+op, payload, params)
	if err != nil {
		return resp, err
	}
	resp.NumNodes = k.serf.memberlist.NumMembers()
	k.collect(resp, q.ResponseCh())

	if resp.NumErr != 0 {
		return resp, fmt.Errorf("%d/%d nodes reported failure", resp.NumErr, resp.NumNodes)
	}
	if resp.NumResp != resp.NumNodes {
		return resp, fmt.Errorf("%d/%d nodes reported success", resp.NumResp, resp.NumNodes)
	}
	return resp, nil
}

// collect reads key query answers into resp.
func (k *KeyManager) collect(resp *KeyResponse, ch <-chan NodeResponse) {
	for r := range ch {
		resp.NumResp++
		var nr nodeKeyResponse
		switch {
		case len(r.Payload) < 1 || messageType(r.Payload[0]) != messageKeyResponseType:
			resp.Messages[r.From] = fmt.Sprintf("Invalid key query response type: %v", r.Payload)
			resp.NumErr++
		case decodeMessage(r.Payload[1:], &nr) != nil:
			resp.Messages[r.From] = fmt.Sprintf("Failed to decode key query response: %v", r.Payload)
			resp.NumErr++
		default:
			if !nr.Result {
				resp.Messages[r.From] = nr.Message
				resp.NumErr++
			} else if nr.Message != "" {
				resp.Messages[r.From] = nr.Message
				k.serf.logger.Printf("[WARN] serf: %s", nr.Message)
			}
			for _, key := range nr.Keys {
				resp.Keys[key]++
			}
			resp.PrimaryKeys[nr.PrimaryKey]++
		}
		if resp.NumResp == resp.NumNodes {
			return
		}
	}
}

// writeKeyringFile saves the keyring, primary first, as a JSON array of
// base64 keys. A new file gets mode 0600, an existing one (or the target
// of a symlink) keeps its mode and owner, as with Serf's in-place write;
// unlike Serf the file is replaced atomically where that keeps both, so a
// crash never leaves a truncated keyring behind.
func (s *Serf) writeKeyringFile() error {
	path := s.config.KeyringFile
	if path == "" {
		return nil
	}
	var keys []string
	for _, k := range s.config.MemberlistConfig.Keyring.GetKeys() {
		keys = append(keys, base64.StdEncoding.EncodeToString(k))
	}
	data, err := json.MarshalIndent(keys, "", "  ")
	if err != nil {
		return fmt.Errorf("Failed to encode keys: %w", err)
	}
	if err := atomicfile.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("Failed to write keyring file: %w", err)
	}
	return nil
}
