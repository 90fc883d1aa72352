package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openserf/serf/client"
	"github.com/openserf/serf/serf"
)

// maxBodyBytes bounds a request body: the largest user event or query
// payload a Serf cluster can carry is far below it.
const maxBodyBytes = 1 << 20

// httpError is an error with the HTTP status it is answered with.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

// badRequest, notFound and tooLarge make the errors of bad input.
func badRequest(format string, args ...any) error {
	return &httpError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return &httpError{http.StatusNotFound, fmt.Sprintf(format, args...)}
}

// apiFunc serves one endpoint. An error it returns before writing is
// answered as {"error": ...}: with the httpError's status, else 500 (the
// agent could not do what was asked, as an RPC error reply says).
type apiFunc func(w http.ResponseWriter, r *http.Request) error

// errorWithBody is an operation's failure that still has a reply to
// show, such as a keyring operation's per-node messages: it is answered
// with status and the body's fields beside "error".
type errorWithBody struct {
	err    error
	status int
	body   any
}

func (e *errorWithBody) Error() string { return e.err.Error() }

func (f apiFunc) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	err := f(w, r)
	if err == nil {
		return
	}
	var he *httpError
	var eb *errorWithBody
	switch {
	case errors.As(err, &he):
		writeJSONError(w, he.status, he.msg)
	case errors.As(err, &eb):
		fields := map[string]any{}
		if b, merr := json.Marshal(eb.body); merr == nil {
			_ = json.Unmarshal(b, &fields)
		}
		fields["error"] = eb.err.Error()
		writeJSON(w, eb.status, fields)
	default:
		writeJSONError(w, http.StatusInternalServerError, err.Error())
	}
}

// byMethod routes a request to the handler for its method (HEAD going
// where GET does) and answers any other 405 with the Allow header.
func byMethod(handlers map[string]http.Handler) http.Handler {
	allow := strings.Join(slices.Sorted(maps.Keys(handlers)), ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method := r.Method
		if method == http.MethodHead {
			method = http.MethodGet
		}
		h, ok := handlers[method]
		if !ok {
			w.Header().Set("Allow", allow)
			writeJSONError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed; use "+allow)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// only lets requests with method (and HEAD, for GET) through to h.
func only(method string, h http.Handler) http.Handler {
	return byMethod(map[string]http.Handler{method: h})
}

// routes registers the /v1 endpoints, each behind the token check.
func (s *HTTPServer) routes(mux *http.ServeMux) {
	api := func(pattern string, handlers map[string]http.Handler) {
		mux.Handle(pattern, s.authenticated(byMethod(handlers)))
	}
	get := http.MethodGet
	post := http.MethodPost
	api("/v1/members", map[string]http.Handler{get: apiFunc(s.members)})
	api("/v1/agent", map[string]http.Handler{get: apiFunc(s.self)})
	api("/v1/agent/join", map[string]http.Handler{post: apiFunc(s.join)})
	api("/v1/agent/leave", map[string]http.Handler{post: apiFunc(s.leave)})
	api("/v1/agent/force-leave", map[string]http.Handler{post: apiFunc(s.forceLeave)})
	api("/v1/agent/tags", map[string]http.Handler{get: apiFunc(s.tags), post: apiFunc(s.setTags)})
	api("/v1/event/{name}", map[string]http.Handler{post: apiFunc(s.userEvent)})
	api("/v1/keys", map[string]http.Handler{get: apiFunc(s.listKeys)})
	api("/v1/keys/{op}", map[string]http.Handler{post: apiFunc(s.keyOp)})
	api("/v1/coordinates", map[string]http.Handler{get: apiFunc(s.coordinates)})
	api("/v1/coordinates/{node}", map[string]http.Handler{get: apiFunc(s.coordinate)})
	api("/v1/rtt/{a}", map[string]http.Handler{get: apiFunc(s.rtt)})
	api("/v1/rtt/{a}/{b}", map[string]http.Handler{get: apiFunc(s.rtt)})
	api("/v1/query/{name}", map[string]http.Handler{post: apiFunc(s.query)})
	api("/v1/events", map[string]http.Handler{get: apiFunc(s.events)})
	api("/v1/monitor", map[string]http.Handler{get: apiFunc(s.monitor)})
}

// params checks that the query string has only the parameters an
// endpoint takes, each once unless repeatable, and returns them.
func params(r *http.Request, single []string, repeatable ...string) (map[string][]string, error) {
	q := r.URL.Query()
	for k, vs := range q {
		switch {
		case slices.Contains(repeatable, k):
		case slices.Contains(single, k):
			if len(vs) > 1 {
				return nil, badRequest("parameter %q is given %d times; it takes one value", k, len(vs))
			}
		default:
			return nil, badRequest("unknown parameter %q", k)
		}
	}
	return q, nil
}

// boolParam reads a true/false parameter, def when it is absent.
func boolParam(q map[string][]string, name string, def bool) (bool, error) {
	vs := q[name]
	if len(vs) == 0 {
		return def, nil
	}
	b, err := strconv.ParseBool(vs[0])
	if err != nil {
		return false, badRequest("parameter %q: %q is not true or false", name, vs[0])
	}
	return b, nil
}

// first is the parameter's value, "" when it is absent.
func first(q map[string][]string, name string) string {
	if vs := q[name]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// tagParams reads repeated "tag=key=value" parameters.
func tagParams(q map[string][]string) (map[string]string, error) {
	tags := map[string]string{}
	for _, kv := range q["tag"] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, badRequest("parameter \"tag\": %q is not key=value", kv)
		}
		tags[k] = v
	}
	return tags, nil
}

// decodeBody reads a request's JSON body into v: one object, no unknown
// fields, at most maxBodyBytes.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			return &httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", maxBodyBytes)}
		case errors.Is(err, io.EOF):
			return badRequest("the request needs a JSON body")
		}
		return badRequest("bad JSON body: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("bad JSON body: more than one JSON value")
	}
	return nil
}

// readPayload reads a raw request body, a user event's or a query's
// payload, of at most maxBodyBytes; an empty body is no payload.
func readPayload(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, &httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", maxBodyBytes)}
	}
	if err != nil {
		return nil, badRequest("reading the body: %v", err)
	}
	if len(b) == 0 {
		return nil, nil
	}
	return b, nil
}

// noBody refuses a body on an endpoint that takes none.
func noBody(r *http.Request) error {
	n, _ := io.Copy(io.Discard, io.LimitReader(r.Body, 1))
	if n > 0 {
		return badRequest("this endpoint takes no body")
	}
	return nil
}

// members answers GET /v1/members: every known member, or those whose
// name, status and tags match the anchored regular expressions given as
// name=, status= and tag=key=value (repeatable), as members-filtered.
func (s *HTTPServer) members(w http.ResponseWriter, r *http.Request) error {
	q, err := params(r, []string{"name", "status"}, "tag")
	if err != nil {
		return err
	}
	tags, err := tagParams(q)
	if err != nil {
		return err
	}
	ms, err := filterMembers(s.agent.Serf().Members(), tags, first(q, "status"), first(q, "name"))
	if err != nil {
		return badRequest("Failed to compile regex: %v", err)
	}
	writeJSON(w, http.StatusOK, client.MembersResponse{Members: rpcMembers(ms)})
	return nil
}

// agentInfo is GET /v1/agent's reply: this node as a member and what
// `serf info` shows.
type agentInfo struct {
	Member client.Member
	Stats  map[string]map[string]string
}

func (s *HTTPServer) self(w http.ResponseWriter, r *http.Request) error {
	if _, err := params(r, nil); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, agentInfo{Member: rpcMember(s.agent.Serf().LocalMember()), Stats: s.agent.Stats()})
	return nil
}

// joinFailed is the reply of a join that failed: how many nodes it
// still reached.
type joinFailed struct{ Num int32 }

func (s *HTTPServer) join(w http.ResponseWriter, r *http.Request) error {
	var req client.JoinRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	if len(req.Existing) == 0 {
		return badRequest("Existing: give at least one address to join")
	}
	n, err := s.agent.Join(req.Existing, req.Replay)
	if err != nil {
		return &errorWithBody{err: err, status: http.StatusInternalServerError, body: joinFailed{int32(n)}}
	}
	writeJSON(w, http.StatusOK, client.JoinResponse{Num: int32(n)})
	return nil
}

// leave answers POST /v1/agent/leave once the node has left, then stops
// the agent, as the RPC's leave does.
func (s *HTTPServer) leave(w http.ResponseWriter, r *http.Request) error {
	if err := noBody(r); err != nil {
		return err
	}
	a := s.agent
	a.logger.Printf("[INFO] agent.http: Graceful leave triggered")
	if err := a.Leave(); err != nil {
		a.logger.Printf("[ERR] agent.http: leave failed: %v", err)
		return err
	}
	writeJSON(w, http.StatusOK, struct{}{})
	_ = http.NewResponseController(w).Flush()
	// Stopping Serf ends `serf agent`, whose Shutdown stops this server;
	// the request cannot wait for that itself.
	if err := a.stop(); err != nil {
		a.logger.Printf("[ERR] agent.http: shutdown failed: %v", err)
	}
	return nil
}

func (s *HTTPServer) forceLeave(w http.ResponseWriter, r *http.Request) error {
	var req client.ForceLeaveRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	if req.Node == "" {
		return badRequest("Node: name the member to remove")
	}
	if !s.known(req.Node) {
		return notFound("no member named %q", req.Node)
	}
	if err := s.agent.ForceLeave(req.Node, req.Prune); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

// known reports whether name is in this agent's member list.
func (s *HTTPServer) known(name string) bool {
	return slices.ContainsFunc(s.agent.Serf().Members(), func(m serf.Member) bool { return m.Name == name })
}

// tagsReply is the reply of both tags endpoints: the tags in force.
type tagsReply struct{ Tags map[string]string }

func (s *HTTPServer) tags(w http.ResponseWriter, r *http.Request) error {
	if _, err := params(r, nil); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tagsReply{Tags: rpcMember(s.agent.Serf().LocalMember()).Tags})
	return nil
}

// setTags answers POST /v1/agent/tags: DeleteTags are removed, then Tags
// set, as `serf tags` does.
func (s *HTTPServer) setTags(w http.ResponseWriter, r *http.Request) error {
	var req client.TagsRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	tags := map[string]string{}
	for k, v := range s.agent.Serf().LocalMember().Tags {
		tags[k] = v
	}
	for _, k := range req.DeleteTags {
		delete(tags, k)
	}
	for k, v := range req.Tags {
		tags[k] = v
	}
	if err := s.agent.SetTags(tags); err != nil {
		return err
	}
	return s.tags(w, r)
}

// userEvent answers POST /v1/event/{name}: the body is the payload;
// coalesce=false turns coalescing off (on by default, as `serf event`).
func (s *HTTPServer) userEvent(w http.ResponseWriter, r *http.Request) error {
	q, err := params(r, []string{"coalesce"})
	if err != nil {
		return err
	}
	coalesce, err := boolParam(q, "coalesce", true)
	if err != nil {
		return err
	}
	payload, err := readPayload(w, r)
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	if limit := s.agent.SerfConfig().UserEventSizeLimit; len(name)+len(payload) > limit {
		return &httpError{http.StatusRequestEntityTooLarge,
			fmt.Sprintf("user event exceeds configured limit of %d bytes before encoding", limit)}
	}
	if err := s.agent.UserEvent(name, payload, coalesce); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

func (s *HTTPServer) listKeys(w http.ResponseWriter, r *http.Request) error {
	if _, err := params(r, nil); err != nil {
		return err
	}
	resp, err := s.agent.ListKeys()
	return keyReply(w, resp, err, true)
}

// keyOp answers POST /v1/keys/install, /use and /remove.
func (s *HTTPServer) keyOp(w http.ResponseWriter, r *http.Request) error {
	op, ok := map[string]func(string) (*serf.KeyResponse, error){
		"install": s.agent.InstallKey,
		"use":     s.agent.UseKey,
		"remove":  s.agent.RemoveKey,
	}[r.PathValue("op")]
	if !ok {
		return notFound("no such endpoint: %s (use install, use or remove)", r.URL.Path)
	}
	var req client.KeyRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	if req.Key == "" {
		return badRequest("Key: give the base64-encoded key")
	}
	resp, err := op(req.Key)
	return keyReply(w, resp, err, false)
}

// keyReply answers a keyring operation with the nodes' answers; one that
// some node refused is a 500 that still carries them.
func keyReply(w http.ResponseWriter, resp *serf.KeyResponse, err error, withKeys bool) error {
	body := keyResponse(resp, withKeys)
	if err != nil {
		return &errorWithBody{err: err, status: http.StatusInternalServerError, body: body}
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// nodeCoordinate is one node's network coordinate.
type nodeCoordinate struct {
	Node  string
	Coord *client.Coordinate
}

// coordinates answers GET /v1/coordinates: the coordinate of every member
// this agent has one for, this node's included, sorted by name.
func (s *HTTPServer) coordinates(w http.ResponseWriter, r *http.Request) error {
	if _, err := params(r, nil); err != nil {
		return err
	}
	sf := s.agent.Serf()
	if _, err := sf.GetCoordinate(); err != nil {
		return notFound("%v", err)
	}
	out := []nodeCoordinate{}
	for _, m := range sf.Members() {
		if c, ok := sf.GetCachedCoordinate(m.Name); ok {
			out = append(out, nodeCoordinate{Node: m.Name, Coord: c})
		}
	}
	slices.SortFunc(out, func(a, b nodeCoordinate) int { return strings.Compare(a.Node, b.Node) })
	writeJSON(w, http.StatusOK, struct{ Coordinates []nodeCoordinate }{out})
	return nil
}

func (s *HTTPServer) coordinate(w http.ResponseWriter, r *http.Request) error {
	if _, err := params(r, nil); err != nil {
		return err
	}
	c, err := s.cachedCoordinate(r.PathValue("node"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nodeCoordinate{Node: r.PathValue("node"), Coord: c})
	return nil
}

// cachedCoordinate is node's coordinate, or a 404 that says why there is
// none.
func (s *HTTPServer) cachedCoordinate(node string) (*client.Coordinate, error) {
	sf := s.agent.Serf()
	if _, err := sf.GetCoordinate(); err != nil {
		return nil, notFound("%v", err)
	}
	c, ok := sf.GetCachedCoordinate(node)
	if !ok {
		return nil, notFound("no coordinate for node %q", node)
	}
	return c, nil
}

// rttReply is the estimated round trip time between two nodes.
type rttReply struct {
	A, B         string
	RTT          string  // as Go prints a duration: "1.234ms"
	Milliseconds float64 // the same, as a number
}

// rtt answers GET /v1/rtt/{a} and /v1/rtt/{a}/{b}: the round trip time
// the two nodes' coordinates predict, b being this node when not given,
// as `serf rtt`.
func (s *HTTPServer) rtt(w http.ResponseWriter, r *http.Request) error {
	if _, err := params(r, nil); err != nil {
		return err
	}
	a, b := r.PathValue("a"), r.PathValue("b")
	if b == "" {
		b = s.agent.Serf().LocalMember().Name
	}
	ca, err := s.cachedCoordinate(a)
	if err != nil {
		return err
	}
	cb, err := s.cachedCoordinate(b)
	if err != nil {
		return err
	}
	if !ca.IsCompatibleWith(cb) {
		return badRequest("the coordinates of %q and %q have different dimensions", a, b)
	}
	d := ca.DistanceTo(cb)
	writeJSON(w, http.StatusOK, rttReply{A: a, B: b, RTT: d.String(), Milliseconds: float64(d) / float64(time.Millisecond)})
	return nil
}
