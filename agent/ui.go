package agent

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// uiFS holds the web UI (docs/ui.md): plain HTML, CSS and JavaScript
// modules, served as they are, with no build step.
//
//go:embed ui
var uiFS embed.FS

// uiPrefix is where the UI is served on the HTTP listener.
const uiPrefix = "/ui/"

// uiCSP is the UI's Content-Security-Policy: scripts, styles and API
// calls from the agent itself only, nothing inline, no frames, no
// plug-ins. A payload or tag that reached the page as markup could run
// nothing.
const uiCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// uiTypes are the content types of the UI's files, by extension: the
// system's MIME table is not consulted, so that a machine without one
// serves the same headers.
var uiTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".ico":  "image/x-icon",
}

// uiFile is one file of the UI, read once.
type uiFile struct {
	body  []byte
	ctype string
	etag  string // a hash of body, quoted as the header wants it
}

// uiFiles reads the embedded UI into a table keyed by the path below
// /ui/ ("index.html", "js/app.js"). The files are in the binary, so this
// fails only if the embed is broken.
var uiFiles = sync.OnceValues(func() (map[string]uiFile, error) {
	root, err := fs.Sub(uiFS, "ui")
	if err != nil {
		return nil, err
	}
	files := map[string]uiFile{}
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ctype, ok := uiTypes[path.Ext(p)]
		if !ok {
			ctype = "application/octet-stream"
		}
		files[p] = uiFile{body: body, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	return files, err
})

// uiRoutes registers the UI: /ui/ and the files below it, /ui and / as
// redirects to /ui/. The files hold no cluster data, so they need no
// token; the API calls the page makes send it.
func (s *HTTPServer) uiRoutes(mux *http.ServeMux) {
	toUI := http.RedirectHandler(uiPrefix, http.StatusFound)
	mux.Handle("/{$}", only(http.MethodGet, toUI))
	mux.Handle("/ui", only(http.MethodGet, http.RedirectHandler(uiPrefix, http.StatusMovedPermanently)))
	mux.Handle(uiPrefix, only(http.MethodGet, http.HandlerFunc(serveUI)))
}

// serveUI answers GET /ui/<file>; /ui/ is index.html. Every file is
// served with an ETag and "Cache-Control: no-cache": the browser keeps it
// but asks each time, and gets 304 Not Modified until the agent is
// upgraded, so a new binary's UI is never mixed with an old one's
// cached files.
func serveUI(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", uiCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	files, err := uiFiles()
	if err != nil {
		writeJSONError(w, http.StatusInternalServerError, "ui: "+err.Error())
		return
	}
	name := strings.TrimPrefix(r.URL.Path, uiPrefix)
	if name == "" {
		name = "index.html"
	}
	f, ok := files[name]
	if !ok {
		writeJSONError(w, http.StatusNotFound, "no such file: "+r.URL.Path)
		return
	}
	h.Set("Content-Type", f.ctype)
	h.Set("ETag", f.etag)
	h.Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.body))
}

// UIURL is where the web UI is served ("http://127.0.0.1:7374/ui/"), or
// "" when it is off. On a unix socket it is the socket's URL and the
// path. An unspecified host (0.0.0.0) is shown as localhost.
func (a *Agent) UIURL() string {
	if a.http == nil || !a.http.ui {
		return ""
	}
	scheme := "http"
	if a.conf.HTTPTLSCertFile != "" {
		scheme = "https"
	}
	switch addr := a.http.Addr().(type) {
	case *net.TCPAddr:
		host := addr.IP.String()
		if addr.IP.IsUnspecified() {
			host = "localhost"
		}
		return scheme + "://" + net.JoinHostPort(host, strconv.Itoa(addr.Port)) + uiPrefix
	default:
		return unixPrefix + addr.String() + " " + uiPrefix
	}
}
