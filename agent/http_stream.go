package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openserf/serf/client"
	"github.com/openserf/serf/event"
	"github.com/openserf/serf/serf"
)

const (
	// httpStreamBuffer is how many records wait for a slow stream reader
	// before the newest are dropped.
	httpStreamBuffer = 512

	// httpWriteTimeout bounds one write to a stream: a client that stops
	// reading loses its stream after it, instead of holding a handler.
	httpWriteTimeout = 10 * time.Second

	// httpKeepalive is how often an idle server-sent-events stream gets a
	// comment line, so that proxies keep it open and a gone client is
	// noticed.
	httpKeepalive = 25 * time.Second
)

// streamWriter writes one stream's records: as server-sent events
// ("event: <type>" and a JSON "data:" line) when the client asked for
// text/event-stream, else as one JSON object (or, for the log monitor,
// one text line) per line. Every write has a deadline and is flushed.
type streamWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	sse     bool
	timeout time.Duration
}

// streamFormat is the stream's framing: "sse" or "lines", from the
// format parameter, else from the Accept header.
func streamFormat(r *http.Request, q map[string][]string) (sse bool, err error) {
	switch f := first(q, "format"); f {
	case "sse":
		return true, nil
	case "ndjson", "text":
		return false, nil
	case "":
		return strings.Contains(r.Header.Get("Accept"), "text/event-stream"), nil
	default:
		return false, badRequest("parameter \"format\": %q is not sse, ndjson or text", f)
	}
}

// startStream answers 200 with the stream's content type; lines is the
// type of a stream that is not server-sent events.
func (s *HTTPServer) startStream(w http.ResponseWriter, sse bool, lines string) (*streamWriter, error) {
	sw := &streamWriter{w: w, rc: http.NewResponseController(w), sse: sse, timeout: time.Duration(s.writeTimeout.Load())}
	h := w.Header()
	if sse {
		h.Set("Content-Type", "text/event-stream")
	} else {
		h.Set("Content-Type", lines)
	}
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: pass each record on at once
	w.WriteHeader(http.StatusOK)
	return sw, sw.flush()
}

func (sw *streamWriter) flush() error {
	_ = sw.rc.SetWriteDeadline(time.Now().Add(sw.timeout))
	return sw.rc.Flush()
}

// record writes v as JSON, as the event kind named when the stream is
// server-sent events.
func (sw *streamWriter) record(kind string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return sw.raw(kind, b)
}

// raw writes one record whose text is b (one line).
func (sw *streamWriter) raw(kind string, b []byte) error {
	_ = sw.rc.SetWriteDeadline(time.Now().Add(sw.timeout))
	var out []byte
	if sw.sse {
		if kind != "" {
			out = fmt.Appendf(out, "event: %s\n", kind)
		}
		// A multi-line log record is one event of several data lines.
		for line := range bytes.SplitSeq(b, []byte("\n")) {
			out = fmt.Appendf(out, "data: %s\n", line)
		}
	} else {
		out = append(out, b...)
	}
	out = append(out, '\n')
	if _, err := sw.w.Write(out); err != nil {
		return err
	}
	return sw.flush()
}

// keepalive writes a comment to a server-sent-events stream.
func (sw *streamWriter) keepalive() error {
	if !sw.sse {
		return nil
	}
	_ = sw.rc.SetWriteDeadline(time.Now().Add(sw.timeout))
	if _, err := fmt.Fprint(sw.w, ": keepalive\n\n"); err != nil {
		return err
	}
	return sw.flush()
}

// pump writes each item of ch with write until ch is closed, which it
// reports with true, or until the client goes, the server shuts down or
// a write fails. An idle server-sent-events stream gets a keepalive.
func pump[T any](ctx context.Context, sw *streamWriter, ch <-chan T, write func(T) error) bool {
	keepalive := time.NewTicker(httpKeepalive)
	defer keepalive.Stop()
	for {
		var err error
		select {
		case v, ok := <-ch:
			if !ok {
				return true
			}
			err = write(v)
		case <-keepalive.C:
			err = sw.keepalive()
		case <-ctx.Done():
			return false
		}
		if err != nil {
			return false
		}
	}
}

// queryParams reads POST /v1/query/{name}'s parameters: node= and
// tag=key=regexp (repeatable) filter who answers, relay= is the relay
// factor, timeout= a duration (0: Serf's default), ack=false asks for no
// acks.
func queryParams(q map[string][]string) (*serf.QueryParam, error) {
	p := &serf.QueryParam{FilterNodes: q["node"]}
	tags, err := tagParams(q)
	if err != nil {
		return nil, err
	}
	if len(tags) > 0 {
		p.FilterTags = tags
	}
	if p.RequestAck, err = boolParam(q, "ack", true); err != nil {
		return nil, err
	}
	if v := first(q, "relay"); v != "" {
		n, err := strconv.ParseUint(v, 10, 8)
		if err != nil {
			return nil, badRequest("parameter \"relay\": %q is not a number from 0 to 255", v)
		}
		p.RelayFactor = uint8(n)
	}
	if v := first(q, "timeout"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return nil, badRequest("parameter \"timeout\": %q is not a duration such as 5s", v)
		}
		p.Timeout = d
	}
	return p, nil
}

// query answers POST /v1/query/{name}: the body is the payload; acks and
// responses are streamed as they arrive, then a "done" record when the
// query ends, which ends the request.
func (s *HTTPServer) query(w http.ResponseWriter, r *http.Request) error {
	q, err := params(r, []string{"ack", "relay", "timeout", "format"}, "node", "tag")
	if err != nil {
		return err
	}
	qp, err := queryParams(q)
	if err != nil {
		return err
	}
	sse, err := streamFormat(r, q)
	if err != nil {
		return err
	}
	payload, err := readPayload(w, r)
	if err != nil {
		return err
	}
	resp, err := s.agent.Query(r.PathValue("name"), payload, qp)
	if err != nil {
		return badRequest("%v", err)
	}
	defer resp.Close()
	sw, err := s.startStream(w, sse, "application/x-ndjson")
	if err != nil {
		return nil
	}
	recs := make(chan client.QueryRecord)
	stop := make(chan struct{})
	var relay sync.WaitGroup
	relay.Go(func() { relayQuery(resp, recs, stop) })
	defer relay.Wait()
	defer close(stop)
	if pump(r.Context(), sw, recs, func(rec client.QueryRecord) error { return sw.record(rec.Type, rec) }) {
		_ = sw.record(client.QueryRecordDone, client.QueryRecord{Type: client.QueryRecordDone})
	}
	return nil
}

// relayQuery sends a query's acks and responses on out as records, in the
// order they come, and closes out when the query ends; closing stop ends
// it sooner.
func relayQuery(resp *serf.QueryResponse, out chan<- client.QueryRecord, stop <-chan struct{}) {
	defer close(out)
	ackCh, respCh := resp.AckCh(), resp.ResponseCh()
	for ackCh != nil || respCh != nil {
		var rec client.QueryRecord
		select {
		case from, ok := <-ackCh:
			if !ok {
				ackCh = nil
				continue
			}
			rec = client.QueryRecord{Type: client.QueryRecordAck, From: from}
		case nr, ok := <-respCh:
			if !ok {
				respCh = nil
				continue
			}
			rec = client.QueryRecord{Type: client.QueryRecordResponse, From: nr.From, Payload: nr.Payload}
		case <-stop:
			return
		}
		select {
		case out <- rec:
		case <-stop:
			return
		}
	}
}

// queryEvent is a query reaching this agent, as the event stream shows
// it (it cannot be answered over HTTP, so it has no ID).
type queryEvent struct {
	Event   string
	LTime   uint64
	Name    string
	Payload []byte
}

// httpEventStream queues the events one GET /v1/events client asked for.
// HandleEvent never blocks: a full queue drops the event, counted, with
// one warning per run of drops.
type httpEventStream struct {
	streamQueue[serf.Event]
	server   *HTTPServer
	peer     string
	dropping atomic.Bool
}

func (es *httpEventStream) HandleEvent(e serf.Event) {
	if !es.offer(e) {
		a := es.server.agent
		a.metrics.IncrCounterWithLabels([]string{"agent", "http", "event_dropped"}, 1, a.labels)
		if es.dropping.CompareAndSwap(false, true) {
			a.logger.Printf("[WARN] agent.http: Dropping events to %s: it does not read them fast enough", es.peer)
		}
	}
}

// events answers GET /v1/events: the cluster's events matching type= (a
// filter as for event handlers and `serf monitor`'s stream, "*" by
// default), as they happen, until the client goes.
func (s *HTTPServer) events(w http.ResponseWriter, r *http.Request) error {
	q, err := params(r, []string{"type", "format"})
	if err != nil {
		return err
	}
	sse, err := streamFormat(r, q)
	if err != nil {
		return err
	}
	filter := first(q, "type")
	if filter == "" {
		filter = "*"
	}
	specs := event.ParseFilter(filter)
	for _, sp := range specs {
		if !sp.Valid() {
			return badRequest("%s: %q", client.ErrInvalidFilter, filter)
		}
	}
	es := &httpEventStream{streamQueue: newEventQueue(specs, httpStreamBuffer), server: s, peer: r.RemoteAddr}
	s.agent.RegisterEventHandler(es)
	defer s.agent.DeregisterEventHandler(es)
	sw, err := s.startStream(w, sse, "application/x-ndjson")
	if err != nil {
		return nil
	}
	pump(r.Context(), sw, es.ch, func(e serf.Event) error {
		es.dropping.Store(false)
		switch e := e.(type) {
		case serf.MemberEvent:
			kind := e.Type.String()
			return sw.record(kind, client.MemberEventRecord{Event: kind, Members: rpcMembers(e.Members)})
		case serf.UserEvent:
			return sw.record("user", client.UserEventRecord{Event: "user", LTime: uint64(e.LTime), Name: e.Name, Payload: e.Payload, Coalesce: e.Coalesce})
		case *serf.Query:
			return sw.record("query", queryEvent{Event: "query", LTime: uint64(e.LTime), Name: e.Name, Payload: e.Payload})
		}
		return nil
	})
	return nil
}

// httpLogStream queues the log lines one GET /v1/monitor client asked
// for. HandleLog runs under the log ring's lock: it neither blocks nor
// logs, and the stream's writer reports the drops.
type httpLogStream struct {
	streamQueue[string]
	dropped atomic.Int64
}

func (ls *httpLogStream) HandleLog(line string) {
	if !ls.offer(line) {
		ls.dropped.Add(1)
	}
}

// monitor answers GET /v1/monitor: the agent's log lines at level= and
// above (INFO by default), the recent ones first, as `serf monitor`
// shows them, or as JSON objects with json=true (the -log-json format).
func (s *HTTPServer) monitor(w http.ResponseWriter, r *http.Request) error {
	q, err := params(r, []string{"level", "json", "format"})
	if err != nil {
		return err
	}
	sse, err := streamFormat(r, q)
	if err != nil {
		return err
	}
	asJSON, err := boolParam(q, "json", false)
	if err != nil {
		return err
	}
	level := strings.ToUpper(first(q, "level"))
	if level == "" {
		level = "INFO"
	}
	if !ValidLevel(level) {
		return badRequest("%s", client.UnknownLogLevelError(level))
	}
	ring := s.agent.ring
	if ring == nil {
		return notFound("this agent keeps no log")
	}
	ls := &httpLogStream{streamQueue: newLogQueue(level, httpStreamBuffer)}
	lines := "text/plain; charset=utf-8"
	if asJSON {
		lines = "application/x-ndjson"
	}
	sw, err := s.startStream(w, sse, lines)
	if err != nil {
		return nil
	}
	ring.RegisterHandler(ls)
	defer ring.DeregisterHandler(ls)
	pump(r.Context(), sw, ls.ch, func(line string) error {
		b := []byte(line)
		if asJSON {
			b = LogLineJSON(b, time.Now())
		}
		if err := sw.raw("", b); err != nil {
			return err
		}
		if n := ls.dropped.Swap(0); n > 0 {
			s.agent.logger.Printf("[WARN] agent.http: Dropping logs to %s (%d lines)", r.RemoteAddr, n)
		}
		return nil
	})
	return nil
}
