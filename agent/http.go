package agent

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	metrics "github.com/hashicorp/go-metrics"
	"github.com/openserf/serf/serf"
)

// httpShutdownTimeout bounds how long Shutdown waits for HTTP requests
// under way; past it their connections are closed.
const httpShutdownTimeout = 5 * time.Second

// unixPrefix marks an http_addr that is a unix socket path.
const unixPrefix = "unix://"

// HTTPServer is the agent's HTTP listener, beyond Serf: health checks and
// /metrics. It is on only when http_addr is set. Every endpoint but the
// health checks requires "Authorization: Bearer <token>" when a token is
// configured (http_auth, else rpc_auth).
type HTTPServer struct {
	agent    *Agent
	listener net.Listener
	server   *http.Server
	token    string
	ui       bool // the web UI is served (ui.go)
	wg       sync.WaitGroup

	// cancel ends the context of every request, so that the streams end
	// when Shutdown begins.
	cancel context.CancelFunc
	// writeTimeout bounds one write to a stream (httpWriteTimeout; tests
	// shorten it).
	writeTimeout atomic.Int64
}

// listenHTTP opens http_addr: "host:port", or "unix:///path" for a unix
// socket created with http_unix_mode. With a certificate and key the
// listener speaks TLS.
func listenHTTP(conf *Config) (net.Listener, error) {
	var l net.Listener
	if path, ok := strings.CutPrefix(conf.HTTPAddr, unixPrefix); ok {
		if path == "" {
			return nil, errors.New("http_addr: unix:// needs a path")
		}
		mode, err := conf.HTTPUnixFileMode()
		if err != nil {
			return nil, err
		}
		// A socket file left by an agent that died is in the way.
		if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
			_ = os.Remove(path)
		}
		if l, err = net.Listen("unix", path); err != nil {
			return nil, err
		}
		if err := os.Chmod(path, mode); err != nil {
			l.Close()
			return nil, err
		}
	} else {
		var err error
		if l, err = net.Listen("tcp", conf.HTTPAddr); err != nil {
			return nil, err
		}
	}
	if conf.HTTPTLSCertFile != "" || conf.HTTPTLSKeyFile != "" {
		cert, err := tls.LoadX509KeyPair(conf.HTTPTLSCertFile, conf.HTTPTLSKeyFile)
		if err != nil {
			l.Close()
			return nil, fmt.Errorf("http TLS: %w", err)
		}
		l = tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	return l, nil
}

// newHTTPServer serves the agent's HTTP endpoints on l until Shutdown,
// and the web UI with ui.
func newHTTPServer(a *Agent, l net.Listener, token string, ui bool) *HTTPServer {
	s := &HTTPServer{agent: a, listener: l, token: token, ui: ui}
	s.writeTimeout.Store(int64(httpWriteTimeout))
	base, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	mux := http.NewServeMux()
	mux.Handle("/v1/health/live", only(http.MethodGet, http.HandlerFunc(s.live)))
	mux.Handle("/v1/health/ready", only(http.MethodGet, http.HandlerFunc(s.ready)))
	if h := a.telemetry.Handler(); h != nil {
		mux.Handle("/metrics", only(http.MethodGet, s.authenticated(h)))
	}
	s.routes(mux)
	if ui {
		s.uiRoutes(mux)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSONError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
	})
	s.server = &http.Server{
		Handler:           s.counted(mux),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          a.logger,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	s.wg.Go(func() {
		if err := s.server.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.logger.Printf("[ERR] agent.http: Stopped serving: %v", err)
		}
	})
	return s
}

// Addr is the address the server listens on.
func (s *HTTPServer) Addr() net.Addr { return s.listener.Addr() }

// Shutdown stops accepting, lets requests under way finish for
// httpShutdownTimeout at most, closes the rest and waits for the server's
// goroutine.
func (s *HTTPServer) Shutdown() {
	s.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), httpShutdownTimeout)
	defer cancel()
	if err := s.server.Shutdown(ctx); err != nil {
		_ = s.server.Close()
	}
	s.wg.Wait()
}

// counted counts every request in agent.http.request, labelled with the
// endpoint's pattern ("/v1/event/{name}"; "other" for a path no endpoint
// serves, so that a scan of random paths makes no new series) and the
// status code.
func (s *HTTPServer) counted(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		// The mux has set the pattern that matched, "/" for none.
		path := r.Pattern
		if path == "" || path == "/" {
			path = "other"
		}
		labels := append(slices.Clone(s.agent.labels),
			metrics.Label{Name: "path", Value: path},
			metrics.Label{Name: "code", Value: strconv.Itoa(rec.status)})
		s.agent.metrics.IncrCounterWithLabels([]string{"agent", "http", "request"}, 1, labels)
	})
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// authenticated lets a request through to h when no token is configured
// or the request carries it as a Bearer token; otherwise 401, and h is
// not called. The comparison takes the same time whatever the token.
func (s *HTTPServer) authenticated(h http.Handler) http.Handler {
	if s.token == "" {
		return h
	}
	want := []byte(s.token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="serf"`)
			writeJSONError(w, http.StatusUnauthorized, "authentication required")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// live answers 200 while the process serves.
func (s *HTTPServer) live(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "alive"})
}

// ready answers 200 once the agent is ready (see Agent.Readiness), 503
// with the reason otherwise.
func (s *HTTPServer) ready(w http.ResponseWriter, _ *http.Request) {
	if reason := s.agent.Readiness(); reason != "" {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": reason})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// writeJSON writes v as the JSON body of a reply with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeJSONError writes {"error": msg} with the given status.
func writeJSONError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// readiness is what Readiness reads: set by Ready and by a retry join
// that worked.
type readiness struct {
	started  atomic.Bool // Ready was called: started, start join done
	joined   atomic.Bool // the retry join worked
	retrying atomic.Bool // the configuration in force has a retry_join
}

// Readiness is "" when the agent is ready to be counted on, and why not
// otherwise: "starting" until `serf agent` is through its start (and the
// start join), "joining" while a retry join has not worked and no other
// member is known, "leaving", "left" or "shutdown" once it goes, and
// "not alive" when the cluster holds this node for anything but alive.
func (a *Agent) Readiness() string {
	s := a.serf
	if s == nil || !a.readiness.started.Load() {
		return "starting"
	}
	switch s.State() {
	case serf.SerfLeaving:
		return "leaving"
	case serf.SerfLeft:
		return "left"
	case serf.SerfShutdown:
		return "shutdown"
	}
	if m := s.LocalMember(); m.Status != serf.StatusAlive {
		return "not alive"
	}
	if a.readiness.retrying.Load() && !a.readiness.joined.Load() && s.NumNodes() < 2 {
		return "joining"
	}
	return ""
}

// HTTPUnixFileMode is http_unix_mode as a file mode (default 0600).
func (c *Config) HTTPUnixFileMode() (os.FileMode, error) {
	raw := c.HTTPUnixMode
	if raw == "" {
		raw = "0600"
	}
	m, err := strconv.ParseUint(raw, 8, 32)
	if err != nil || m > 0o777 {
		return 0, fmt.Errorf("http_unix_mode: %q is not an octal file mode such as 0660", raw)
	}
	return os.FileMode(m), nil
}
