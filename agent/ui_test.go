package agent

import (
	"io"
	"io/fs"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/openserf/serf/internal/testutil/cluster"
	"github.com/openserf/serf/internal/testutil/oracle"
)

// uiAgent starts one agent with the HTTP listener and the UI on (ui
// false: the listener alone) and returns its base URL.
func uiAgent(t *testing.T, ui bool, token string) string {
	t.Helper()
	conf := daemonConfig(t, "ui1", func(c *Config) {
		c.HTTPAddr, c.HTTPAuth, c.UI = oracle.FreeAddr(t, cluster.IP()), token, valuePtr(ui)
	})
	a, _ := startDaemon(t, conf)
	return "http://" + a.HTTPAddr().String()
}

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// uiGet sends a GET with the given headers and returns the reply, its
// body read.
func uiGet(t *testing.T, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the reply: %v", url, err)
	}
	return resp, string(b)
}

// Every file of the UI is served with its content type, the security
// headers and an ETag that a revalidation answers with 304; the files
// need no token while the API does.
func TestUIServesFiles(t *testing.T) {
	base := uiAgent(t, true, "s3cret")
	types := map[string]string{
		"/ui/":               "text/html; charset=utf-8",
		"/ui/index.html":     "text/html; charset=utf-8",
		"/ui/css/ui.css":     "text/css; charset=utf-8",
		"/ui/js/app.js":      "text/javascript; charset=utf-8",
		"/ui/js/members.js":  "text/javascript; charset=utf-8",
		"/ui/favicon.svg":    "image/svg+xml",
		"/ui/js/coord.js":    "text/javascript; charset=utf-8",
		"/ui/js/network.js":  "text/javascript; charset=utf-8",
		"/ui/js/api.js":      "text/javascript; charset=utf-8",
		"/ui/js/dom.js":      "text/javascript; charset=utf-8",
		"/ui/js/events.js":   "text/javascript; charset=utf-8",
		"/ui/js/send.js":     "text/javascript; charset=utf-8",
		"/ui/js/keys.js":     "text/javascript; charset=utf-8",
		"/ui/js/state.js":    "text/javascript; charset=utf-8",
		"/ui/css/../js/x.js": "", // cleaned by the mux: a redirect, never a file outside
	}
	for path, ctype := range types {
		resp, body := uiGet(t, base+path)
		if ctype == "" {
			if resp.StatusCode == http.StatusOK {
				t.Errorf("GET %s = 200, want no file", path)
			}
			continue
		}
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d %s, want 200 without a token", path, resp.StatusCode, body)
			continue
		}
		h := resp.Header
		for k, want := range map[string]string{
			"Content-Type":           ctype,
			"Cache-Control":          "no-cache",
			"X-Content-Type-Options": "nosniff",
			"X-Frame-Options":        "DENY",
		} {
			if got := h.Get(k); got != want {
				t.Errorf("GET %s: %s = %q, want %q", path, k, got, want)
			}
		}
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: Content-Security-Policy = %q, want it to contain %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("GET %s: Content-Security-Policy = %q allows inline or eval'd code", path, csp)
		}
		etag := h.Get("ETag")
		if !regexp.MustCompile(`^"[0-9a-f]{24}"$`).MatchString(etag) {
			t.Errorf("GET %s: ETag = %q, want a quoted hash", path, etag)
			continue
		}
		again, rest := uiGet(t, base+path, "If-None-Match", etag)
		if again.StatusCode != http.StatusNotModified || rest != "" {
			t.Errorf("GET %s with If-None-Match %s = %d %q, want 304 and no body", path, etag, again.StatusCode, rest)
		}
	}

	// The API the page calls still wants the token.
	if resp, body := uiGet(t, base+"/v1/agent"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /v1/agent without a token = %d %s, want 401", resp.StatusCode, body)
	}
	if resp, body := uiGet(t, base+"/v1/agent", "Authorization", "Bearer s3cret"); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /v1/agent with the token = %d %s, want 200", resp.StatusCode, body)
	}
}

// The page loads no script or style inline (the CSP would block it) and
// nothing from another origin.
func TestUIIndexHasNoInlineCode(t *testing.T) {
	index, err := fs.ReadFile(uiFS, "ui/index.html")
	if err != nil {
		t.Fatal(err)
	}
	html := string(index)
	for _, re := range []string{`<script(?:\s[^>]*)?>\s*[^<\s]`, `<style`, `\sstyle=`, `\son[a-z]+=`, `(?:src|href)="(?:https?:)?//`} {
		if m := regexp.MustCompile(re).FindString(html); m != "" {
			t.Errorf("index.html has %q (matching %s): the CSP forbids inline code and other origins", m, re)
		}
	}
	// No module writes data into the page as markup.
	files, err := uiFiles()
	if err != nil {
		t.Fatal(err)
	}
	for name, f := range files {
		if !strings.HasPrefix(name, "js/") {
			continue
		}
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("} {
			if strings.Contains(string(f.body), bad) {
				t.Errorf("%s uses %s", name, bad)
			}
		}
	}
}

// /ui and / lead to /ui/; a file that is not there is 404, and a method
// other than GET or HEAD is 405.
func TestUIRoutes(t *testing.T) {
	base := uiAgent(t, true, "")
	for path, want := range map[string]int{"/ui": http.StatusMovedPermanently, "/": http.StatusFound} {
		resp, _ := uiGet(t, base+path)
		if resp.StatusCode != want || resp.Header.Get("Location") != "/ui/" {
			t.Errorf("GET %s = %d to %q, want %d to /ui/", path, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
	for _, path := range []string{"/ui/nope.js", "/ui/js/", "/ui/js/nope.js", "/uix"} {
		if resp, body := uiGet(t, base+path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d %s, want 404", path, resp.StatusCode, body)
		}
	}
	resp, err := http.Post(base+"/ui/", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /ui/ = %d, want 405", resp.StatusCode)
	}
	head, err := http.Head(base + "/ui/js/app.js")
	if err != nil {
		t.Fatal(err)
	}
	head.Body.Close()
	if head.StatusCode != http.StatusOK || head.Header.Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Errorf("HEAD /ui/js/app.js = %d %q, want 200 and the script's type", head.StatusCode, head.Header.Get("Content-Type"))
	}
}

// Without ui the listener serves no UI: /ui/ and its files are 404, and
// / is not redirected.
func TestUIOff(t *testing.T) {
	base := uiAgent(t, false, "")
	for _, path := range []string{"/ui/", "/ui", "/ui/js/app.js", "/"} {
		if resp, body := uiGet(t, base+path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s with the UI off = %d %s, want 404", path, resp.StatusCode, body)
		}
	}
}

// UIURL names the listener's address and /ui/, and is empty with the UI
// off.
func TestUIURL(t *testing.T) {
	for _, ui := range []bool{true, false} {
		conf := daemonConfig(t, "ui1", func(c *Config) {
			c.HTTPAddr, c.UI = oracle.FreeAddr(t, cluster.IP()), valuePtr(ui)
		})
		a, _ := startDaemon(t, conf)
		want := ""
		if ui {
			want = "http://" + a.HTTPAddr().String() + "/ui/"
		}
		if got := a.UIURL(); got != want {
			t.Errorf("UIURL() with ui %v = %q, want %q", ui, got, want)
		}
	}
}
