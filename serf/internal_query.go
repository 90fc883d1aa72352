package serf

import (
	"encoding/base64"
	"fmt"
)

// InternalQueryPrefix starts the names of Serf's own queries. They are
// answered inside the library and never delivered on EventCh.
const InternalQueryPrefix = "_serf_"

// Names of the internal queries, after the prefix.
const (
	pingQuery       = "ping"
	conflictQuery   = "conflict"
	installKeyQuery = "install-key"
	useKeyQuery     = "use-key"
	removeKeyQuery  = "remove-key"
	listKeysQuery   = "list-keys"
)

// minEncodedKeyLength is the smallest a base64 key takes in a list-keys
// response; it bounds how many keys one response may try to carry.
const minEncodedKeyLength = 25

// keyRequest is the payload of a key query (after the type byte).
type keyRequest struct {
	Key []byte
}

// nodeKeyResponse is a node's answer to a key query (after the type byte).
type nodeKeyResponse struct {
	Result     bool
	Message    string
	Keys       []string
	PrimaryKey string
}

// handleInternalQuery answers one of Serf's own queries. It runs in its own
// goroutine, owned by the node.
func (s *Serf) handleInternalQuery(q *Query) {
	switch name := q.Name[len(InternalQueryPrefix):]; name {
	case pingQuery:
		// The ack, sent on receipt, is the whole answer.
	case conflictQuery:
		s.answerConflict(q)
	case installKeyQuery, useKeyQuery, removeKeyQuery:
		s.answerKeyChange(q, name)
	case listKeysQuery:
		s.answerListKeys(q)
	default:
		s.logger.Printf("[WARN] serf: Unhandled internal query '%s'", name)
	}
}

// answerConflict tells the asker what this node knows of the contested
// name, or nil if it knows nothing. The owner of the name does not vote.
func (s *Serf) answerConflict(q *Query) {
	node := string(q.Payload)
	if node == s.config.NodeName {
		return
	}
	s.logger.Printf("[DEBUG] serf: Got conflict resolution query for '%s'", node)

	var out *Member
	s.memberLock.RLock()
	if m, ok := s.members[node]; ok {
		c := m.Member
		out = &c
	}
	s.memberLock.RUnlock()

	s.answer(q, messageConflictResponseType, out,
		"[ERR] serf: Failed to encode conflict query response: %v",
		"[ERR] serf: Failed to respond to conflict query: %v")
}

// answer encodes msg as a message of type t and sends it as this node's
// response to q. A failure is logged with encodeFailed or respondFailed,
// each a format for the error.
func (s *Serf) answer(q *Query, t messageType, msg any, encodeFailed, respondFailed string) {
	buf, err := encodeMessage(t, msg)
	if err != nil {
		s.logger.Printf(encodeFailed, err)
		return
	}
	if err := q.Respond(buf); err != nil {
		s.logger.Printf(respondFailed, err)
	}
}

// answerKeyChange installs, makes primary or removes a key and reports
// the outcome.
func (s *Serf) answerKeyChange(q *Query, op string) {
	resp := nodeKeyResponse{}
	defer func() { s.sendKeyResponse(q, &resp) }()

	if len(q.Payload) < 1 {
		s.logger.Printf("[ERR] serf: Invalid key request payload")
		return
	}
	var req keyRequest
	if err := decodeMessage(q.Payload[1:], &req); err != nil {
		s.logger.Printf("[ERR] serf: Failed to decode key request: %v", err)
		return
	}
	keyring := s.config.MemberlistConfig.Keyring
	if keyring == nil {
		resp.Message = "No keyring to modify (encryption not enabled)"
		s.logger.Printf("[ERR] serf: No keyring to modify (encryption not enabled)")
		return
	}

	// Each log line is spelled out, as Serf's are, so that it can be
	// found in the source.
	var err error
	switch op {
	case installKeyQuery:
		s.logger.Printf("[INFO] serf: Received install-key query")
		if err = keyring.AddKey(req.Key); err != nil {
			s.logger.Printf("[ERR] serf: Failed to install key: %s", err)
		}
	case useKeyQuery:
		s.logger.Printf("[INFO] serf: Received use-key query")
		if err = keyring.UseKey(req.Key); err != nil {
			s.logger.Printf("[ERR] serf: Failed to change primary key: %s", err)
		}
	case removeKeyQuery:
		s.logger.Printf("[INFO] serf: Received remove-key query")
		if err = keyring.RemoveKey(req.Key); err != nil {
			s.logger.Printf("[ERR] serf: Failed to remove key: %s", err)
		}
	}
	if err != nil {
		resp.Message = err.Error()
		return
	}
	if err := s.writeKeyringFile(); err != nil {
		resp.Message = err.Error()
		s.logger.Printf("[ERR] serf: Failed to write keyring file: %s", err)
		return
	}
	resp.Result = true
}

// answerListKeys reports every installed key and the primary.
func (s *Serf) answerListKeys(q *Query) {
	resp := nodeKeyResponse{}
	keyring := s.config.MemberlistConfig.Keyring
	if keyring == nil {
		resp.Message = "Keyring is empty (encryption not enabled)"
		s.logger.Printf("[ERR] serf: Keyring is empty (encryption not enabled)")
	} else {
		s.logger.Printf("[INFO] serf: Received list-keys query")
		for _, k := range keyring.GetKeys() {
			resp.Keys = append(resp.Keys, base64.StdEncoding.EncodeToString(k))
		}
		resp.PrimaryKey = base64.StdEncoding.EncodeToString(keyring.GetPrimaryKey())
		resp.Result = true
	}
	s.sendKeyResponse(q, &resp)
}

// sendKeyResponse answers a key query. A list of keys too long for one
// response is cut down until it fits, saying so in the message.
func (s *Serf) sendKeyResponse(q *Query, resp *nodeKeyResponse) {
	if q.Name != InternalQueryPrefix+listKeysQuery {
		s.answer(q, messageKeyResponseType, resp,
			"[ERR] serf: Failed to encode key response: %v",
			"[ERR] serf: Failed to respond to key query: %v")
		return
	}

	total := len(resp.Keys)
	for n := min(s.config.QueryResponseSizeLimit/minEncodedKeyLength, total); n >= 0; n-- {
		buf, err := encodeMessage(messageKeyResponseType, resp)
		if err != nil {
			s.logger.Printf("[ERR] serf: %v", err)
			return
		}
		qr := q.response(buf)
		raw, err := encodeMessage(messageQueryResponseType, &qr)
		if err != nil {
			s.logger.Printf("[ERR] serf: %v", err)
			return
		}
		if q.checkResponseSize(raw) != nil {
			resp.Keys = resp.Keys[:n]
			resp.Message = fmt.Sprintf("truncated key list response, showing first %d of %d keys", n, total)
			continue
		}
		if total > n {
			s.logger.Printf("[WARN] serf: %s", resp.Message)
		}
		if err := q.respond(raw, qr); err != nil {
			s.logger.Printf("[ERR] serf: Failed to respond to key query: %v", err)
		}
		return
	}
	s.logger.Printf("[ERR] serf: Failed to truncate response so that it fits into message")
}
