package agent

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/openserf/serf/internal/testutil/cluster"
	"github.com/openserf/serf/internal/testutil/oracle"
)

// get does one request and returns the status and the decoded JSON body
// (nil when the body is not a JSON object).
func get(t *testing.T, c *http.Client, url, token string) (int, map[string]string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var obj map[string]string
	if json.Unmarshal(body, &obj) != nil {
		obj = nil
	}
	return resp.StatusCode, obj, string(body)
}

// The health checks answer without a token; ready only once the agent is
// started, and no longer once it leaves. /metrics is Prometheus' format.
func TestHTTPHealthAndMetrics(t *testing.T) {
	ip := cluster.IP()
	conf := daemonConfig(t, "http", func(c *Config) { c.HTTPAddr = oracle.FreeAddr(t, ip) })
	a, _ := startDaemon(t, conf)
	base := "http://" + a.HTTPAddr().String()
	c := http.DefaultClient

	if code, body, _ := get(t, c, base+"/v1/health/live", ""); code != 200 || body["status"] != "alive" {
		t.Errorf("live = %d %v, want 200 alive", code, body)
	}
	if code, body, _ := get(t, c, base+"/v1/health/ready", ""); code != 503 || body["reason"] != "starting" {
		t.Errorf("ready before Ready() = %d %v, want 503 starting", code, body)
	}
	a.Ready()
	if code, body, _ := get(t, c, base+"/v1/health/ready", ""); code != 200 || body["status"] != "ready" {
		t.Errorf("ready = %d %v, want 200 ready", code, body)
	}

	code, _, text := get(t, c, base+"/metrics", "")
	if code != 200 {
		t.Fatalf("GET /metrics = %d: %s", code, text)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	if f := families["serf_members"]; f == nil || len(f.GetMetric()) != 4 {
		t.Errorf("serf_members = %v, want its four statuses", f)
	}
	if families["go_goroutines"] == nil {
		t.Error("no go_goroutines on /metrics")
	}
	// The requests before this scrape are counted by endpoint and code.
	if got, ok := value(families["agent_http_request"], "path", "/v1/health/ready", "code", "503"); !ok || got != 1 {
		t.Errorf("agent_http_request{path=/v1/health/ready,code=503} = %v (found %v), want 1", got, ok)
	}
	if got, ok := value(families["agent_http_request"], "path", "/v1/health/live", "code", "200"); !ok || got != 1 {
		t.Errorf("agent_http_request{path=/v1/health/live,code=200} = %v (found %v), want 1", got, ok)
	}

	if code, body, _ := get(t, c, base+"/nope", ""); code != 404 || body["error"] == "" {
		t.Errorf("GET /nope = %d %v, want 404 with an error", code, body)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/health/live", nil)
	if resp, err := c.Do(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /v1/health/live = %v, %v; want 405", resp, err)
	} else {
		resp.Body.Close()
	}

	if err := a.Leave(); err != nil {
		t.Fatalf("Leave() error: %v", err)
	}
	if code, body, _ := get(t, c, base+"/v1/health/ready", ""); code != 503 || body["reason"] != "left" {
		t.Errorf("ready after leave = %d %v, want 503 left", code, body)
	}
}

// With a token, /metrics needs it and the health checks do not; rpc_auth
// is the token when http_auth is unset.
func TestHTTPAuth(t *testing.T) {
	for _, tc := range []struct{ name, httpAuth, rpcAuth, token string }{
		{"http_auth", "s3cret", "", "s3cret"},
		{"rpc_auth", "", "rpc-token", "rpc-token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ip := cluster.IP()
			conf := daemonConfig(t, "auth", func(c *Config) {
				c.HTTPAddr, c.HTTPAuth, c.RPCAuthKey = oracle.FreeAddr(t, ip), tc.httpAuth, tc.rpcAuth
			})
			a, _ := startDaemon(t, conf)
			a.Ready()
			base := "http://" + a.HTTPAddr().String()
			for _, bad := range []string{"", "wrong", tc.token + "x"} {
				if code, body, _ := get(t, http.DefaultClient, base+"/metrics", bad); code != 401 || body["error"] != "authentication required" {
					t.Errorf("/metrics with token %q = %d %v, want 401", bad, code, body)
				}
			}
			if code, _, _ := get(t, http.DefaultClient, base+"/metrics", tc.token); code != 200 {
				t.Errorf("/metrics with the token = %d, want 200", code)
			}
			if code, _, _ := get(t, http.DefaultClient, base+"/v1/health/ready", ""); code != 200 {
				t.Errorf("ready without a token = %d, want 200", code)
			}
		})
	}
}

// The listener can be a unix socket with the configured mode, and can
// speak TLS.
func TestHTTPUnixAndTLS(t *testing.T) {
	t.Run("unix", func(t *testing.T) {
		sock := filepath.Join(t.TempDir(), "serf.sock")
		conf := daemonConfig(t, "unix", func(c *Config) { c.HTTPAddr, c.HTTPUnixMode = "unix://"+sock, "0660" })
		a, _ := startDaemon(t, conf)
		a.Ready()
		fi, err := os.Stat(sock)
		if err != nil || fi.Mode().Perm() != 0o660 {
			t.Fatalf("socket %s: %v, mode %v; want 0660", sock, err, fi.Mode())
		}
		c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}}}
		if code, body, _ := get(t, c, "http://serf/v1/health/ready", ""); code != 200 {
			t.Errorf("ready over the unix socket = %d %v", code, body)
		}
	})
	t.Run("tls", func(t *testing.T) {
		dir := t.TempDir()
		certFile, keyFile, pool := selfSigned(t, dir)
		ip := cluster.IP()
		conf := daemonConfig(t, "tls", func(c *Config) {
			c.HTTPAddr, c.HTTPTLSCertFile, c.HTTPTLSKeyFile = oracle.FreeAddr(t, ip), certFile, keyFile
		})
		a, _ := startDaemon(t, conf)
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		if code, _, _ := get(t, c, "https://"+a.HTTPAddr().String()+"/v1/health/live", ""); code != 200 {
			t.Errorf("live over TLS = %d", code)
		}
		// Plain HTTP to the TLS listener gets no answer of ours.
		resp, err := http.Get("http://" + a.HTTPAddr().String() + "/v1/health/live")
		if err == nil {
			if resp.StatusCode == 200 {
				t.Error("plain HTTP was answered by the TLS listener")
			}
			resp.Body.Close()
		}
	})
}

// A bad listener setting stops the start with a clear error.
func TestHTTPListenErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"unix without path", func(c *Config) { c.HTTPAddr = "unix://" }, "http_addr: unix:// needs a path"},
		{"bad mode", func(c *Config) { c.HTTPAddr, c.HTTPUnixMode = "unix://"+filepath.Join(t.TempDir(), "s"), "rw" }, `http_unix_mode: "rw" is not an octal file mode such as 0660`},
		{"missing cert", func(c *Config) {
			c.HTTPAddr, c.HTTPTLSCertFile, c.HTTPTLSKeyFile = "127.0.0.1:0", "/nonexistent.pem", "/nonexistent.key"
		}, "http TLS: open /nonexistent.pem"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := daemonConfig(t, "bad", tc.edit)
			a, _, err := New(conf, io.Discard)
			if err != nil {
				t.Fatalf("New() error: %v", err)
			}
			err = a.Start()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Start() error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// selfSigned writes a certificate for 127.0.0.0/8 and its key, and
// returns their paths and a pool that trusts it.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "serf test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	for i := 1; i < 255; i++ {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.IPv4(127, 0, 0, byte(i)))
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
