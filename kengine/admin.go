package kengine

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

const (
	defaultTimeout     = 10 * time.Second
	defaultConcurrency = 16

	// maxErrorBody bounds the part of a non-JSON error body kept in an APIError.
	maxErrorBody = 1 << 10
	// maxResponseBody bounds how much of any admin response is read.
	maxResponseBody = 1 << 20
)

// Endpoint is one Kengine pod's admin endpoint.
type Endpoint struct {
	// Pod is the pod's name; it fills {pod} in ClientOptions.ServerName.
	Pod string
	// Namespace is the pod's namespace; it fills {namespace} in ClientOptions.ServerName.
	Namespace string
	// UID is the pod's UID; a new UID means a new pod, whatever its name and address.
	UID string
	// Address is the pod's IP address or host name, without a port.
	Address string
}

// String names the endpoint for errors.
func (ep Endpoint) String() string {
	return fmt.Sprintf("%s/%s (%s)", ep.Namespace, ep.Pod, ep.Address)
}

// key identifies the endpoint in the client's memory.
func (ep Endpoint) key() string {
	return ep.UID + "/" + ep.Address + "/" + ep.Namespace + "/" + ep.Pod
}

// ClientOptions configures a Client.
type ClientOptions struct {
	// Port is the admin port on every pod.
	Port int
	// Insecure talks plain HTTP; otherwise the client uses HTTPS.
	Insecure bool
	// CAFile is a PEM bundle of the CAs that sign the pods' admin certificates; empty uses
	// the system pool.
	CAFile string
	// CertFile and KeyFile are the PEM client certificate and key presented to the pods
	// (mutual TLS); both or neither.
	CertFile, KeyFile string
	// ServerName is the name to verify the pod's certificate against, and to send as SNI.
	// {pod} and {namespace} expand per endpoint. Empty verifies against Endpoint.Address.
	ServerName string
	// TLSConfig replaces CAFile, CertFile and KeyFile when set. ServerName still applies.
	TLSConfig *tls.Config
	// Timeout bounds the work on one pod in Push, and every single request. Default: 10s.
	Timeout time.Duration
	// Concurrency is how many pods Push programs at once. Default: 16.
	Concurrency int
}

// APIError is an error answer of the admin API.
type APIError struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Message is Kengine's error message, or the start of the body when it was not JSON.
	Message string
}

// Error formats the error as "kengine admin API: <code>: <message>".
func (e *APIError) Error() string {
	return fmt.Sprintf("kengine admin API: %d: %s", e.StatusCode, e.Message)
}

// Client talks to the admin API of Kengine pods. It is safe for concurrent use.
type Client struct {
	port        int
	scheme      string
	timeout     time.Duration
	concurrency int
	serverName  string
	baseTLS     *tls.Config // nil for plain HTTP

	mu sync.Mutex
	// clients holds one HTTP client per expanded server name, so that pooled connections
	// are never reused for a pod that must be verified under another name.
	clients map[string]*http.Client
	// pods remembers, per endpoint, the last version successfully loaded there.
	pods map[string]podState
}

// podState is what the client remembers about one endpoint.
type podState struct {
	endpoint   Endpoint
	serverName string
	version    string
}

// NewClient checks the options and loads the TLS files.
func NewClient(opts ClientOptions) (*Client, error) {
	if opts.Port <= 0 || opts.Port > 65535 {
		return nil, fmt.Errorf("kengine: admin port %d out of range", opts.Port)
	}
	if opts.Timeout < 0 {
		return nil, fmt.Errorf("kengine: negative timeout %v", opts.Timeout)
	}
	if opts.Concurrency < 0 {
		return nil, fmt.Errorf("kengine: negative concurrency %d", opts.Concurrency)
	}
	if err := checkServerNamePattern(opts.ServerName); err != nil {
		return nil, err
	}
	c := &Client{
		port:        opts.Port,
		scheme:      "https",
		timeout:     opts.Timeout,
		concurrency: opts.Concurrency,
		serverName:  opts.ServerName,
		clients:     make(map[string]*http.Client),
		pods:        make(map[string]podState),
	}
	if c.timeout == 0 {
		c.timeout = defaultTimeout
	}
	if c.concurrency == 0 {
		c.concurrency = defaultConcurrency
	}
	if opts.Insecure {
		if opts.CAFile != "" || opts.CertFile != "" || opts.KeyFile != "" || opts.TLSConfig != nil || opts.ServerName != "" {
			return nil, errors.New("kengine: insecure (plain HTTP) admin client must not be given TLS settings")
		}
		c.scheme = "http"
		return c, nil
	}
	tlsConfig, err := loadTLSConfig(opts)
	if err != nil {
		return nil, err
	}
	c.baseTLS = tlsConfig
	return c, nil
}

// checkServerNamePattern rejects placeholders other than {pod} and {namespace}.
func checkServerNamePattern(pattern string) error {
	rest := strings.NewReplacer("{pod}", "", "{namespace}", "").Replace(pattern)
	if strings.ContainsAny(rest, "{}") {
		return fmt.Errorf("kengine: server name %q: only the placeholders {pod} and {namespace} are supported", pattern)
	}
	return nil
}

// loadTLSConfig builds the base TLS config from the options.
func loadTLSConfig(opts ClientOptions) (*tls.Config, error) {
	if opts.TLSConfig != nil {
		return opts.TLSConfig.Clone(), nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if opts.CAFile != "" {
		pemData, err := os.ReadFile(opts.CAFile)
		if err != nil {
			return nil, fmt.Errorf("kengine: reading admin CA bundle: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemData) {
			return nil, fmt.Errorf("kengine: admin CA bundle %s holds no PEM certificate", opts.CAFile)
		}
		cfg.RootCAs = pool
	}
	if (opts.CertFile == "") != (opts.KeyFile == "") {
		return nil, errors.New("kengine: admin client certificate and key must be given together")
	}
	if opts.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(opts.CertFile, opts.KeyFile)
		if err != nil {
			// The error names files and formats, never key material.
			return nil, fmt.Errorf("kengine: loading admin client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// expandServerName fills the placeholders of the ServerName pattern for ep.
func (c *Client) expandServerName(ep Endpoint) string {
	if c.serverName == "" {
		return ""
	}
	return strings.NewReplacer("{pod}", ep.Pod, "{namespace}", ep.Namespace).Replace(c.serverName)
}

// httpClientFor returns the HTTP client for ep and records that ep uses it.
func (c *Client) httpClientFor(ep Endpoint) *http.Client {
	name := c.expandServerName(ep)
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.pods[ep.key()]
	st.endpoint, st.serverName = ep, name
	c.pods[ep.key()] = st
	if hc, ok := c.clients[name]; ok {
		return hc
	}
	hc := c.newHTTPClient(name)
	c.clients[name] = hc
	return hc
}

// newHTTPClient builds an HTTP client that verifies the server as serverName (or as the
// address it dials when empty).
func (c *Client) newHTTPClient(serverName string) *http.Client {
	dialer := &net.Dialer{Timeout: c.timeout, KeepAlive: 30 * time.Second}
	transport := &http.Transport{
		// Pod addresses are never reached through an environment proxy.
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   c.timeout,
		ResponseHeaderTimeout: c.timeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
	}
	if c.baseTLS != nil {
		cfg := c.baseTLS.Clone()
		if serverName != "" {
			cfg.ServerName = serverName
		}
		transport.TLSClientConfig = cfg
	}
	return &http.Client{
		Transport: transport,
		// The admin API never redirects; following one could send the config elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// url builds the admin URL of path on ep.
func (c *Client) url(ep Endpoint, path string) string {
	return c.scheme + "://" + net.JoinHostPort(ep.Address, strconv.Itoa(c.port)) + path
}

// Load replaces the pod's whole config with config (POST /load). Kengine treats a
// byte-identical config as a no-op.
func (c *Client) Load(ctx context.Context, ep Endpoint, config []byte) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url(ep, "/load"), bytes.NewReader(config))
	if err != nil {
		return fmt.Errorf("kengine: load config on %s: %w", ep, err)
	}
	req.Header.Set("Content-Type", "application/json")
	// Loading the same bytes twice is harmless, so the transport may retry the request on a
	// fresh connection when a pooled one turns out dead: Kengine restarts its admin server
	// after every load, closing idle connections. An empty value is not sent.
	req.Header["Idempotency-Key"] = []string{}
	resp, err := c.httpClientFor(ep).Do(req)
	if err != nil {
		return fmt.Errorf("kengine: load config on %s: %w", ep, err)
	}
	defer closeBody(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("kengine: load config on %s: %w", ep, decodeAPIError(resp))
	}
	return nil
}

// ControllerPermissions returns the remote admin permissions the controller needs on a pod, and
// no more: POST on /load to program it, and GET on /id/ and /config/admin for RunsVersion.
// Kengine answers GET /id/<id> by rewriting the path to the config path of that ID
// (/config/admin for the version ID) and serving the request again, access control included
// (caddy admin.go: handleConfigID returns errInternalRedir, which handleError turns into a
// second serveHTTP), so both paths must be allowed. Each call returns fresh slices.
func ControllerPermissions() []AdminPermissions {
	return []AdminPermissions{
		{Paths: []string{"/load"}, Methods: []string{http.MethodPost}},
		{Paths: []string{"/id/", "/config/admin"}, Methods: []string{http.MethodGet}},
	}
}

// RunsVersion reports whether the pod runs the config whose version Finalize returned:
// GET /id/<VersionAdminID(version)> answers 200 when the running config carries that ID and 404
// ("unknown object ID") when it does not. Any other answer is an error wrapping *APIError. On
// the remote admin endpoint the client needs GET on both /id/ and /config/admin, because
// Kengine checks access again after resolving the ID (see ControllerPermissions); without the
// second permission the answer is 403, an error, never a false "no".
func (c *Client) RunsVersion(ctx context.Context, ep Endpoint, version string) (bool, error) {
	if !isVersion(version) {
		// Checked before it becomes part of a URL path.
		return false, fmt.Errorf("kengine: check version on %s: %q is not a config version", ep, version)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url(ep, "/id/"+VersionAdminID(version)), nil)
	if err != nil {
		return false, fmt.Errorf("kengine: check version on %s: %w", ep, err)
	}
	resp, err := c.httpClientFor(ep).Do(req)
	if err != nil {
		return false, fmt.Errorf("kengine: check version on %s: %w", ep, err)
	}
	defer closeBody(resp.Body)
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, fmt.Errorf("kengine: check version on %s: %w", ep, decodeAPIError(resp))
}

// decodeAPIError reads Kengine's {"error": "..."} answer, or keeps the start of the body.
func decodeAPIError(resp *http.Response) *APIError {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	apiErr := &APIError{StatusCode: resp.StatusCode}
	var answer struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(body, &answer); err == nil && answer.Error != "" {
		apiErr.Message = answer.Error
		return apiErr
	}
	msg := bytes.TrimSpace(body)
	if len(msg) > maxErrorBody {
		msg = msg[:maxErrorBody]
		// Do not end on half a rune: drop up to UTFMax-1 bytes of a cut sequence.
		for range utf8.UTFMax - 1 {
			if r, size := utf8.DecodeLastRune(msg); r != utf8.RuneError || size != 1 {
				break
			}
			msg = msg[:len(msg)-1]
		}
	}
	apiErr.Message = strings.ToValidUTF8(string(msg), "\uFFFD")
	if apiErr.Message == "" {
		apiErr.Message = http.StatusText(resp.StatusCode)
	}
	return apiErr
}

// closeBody drains a little of the body so that the connection can be reused, then closes it.
func closeBody(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, maxResponseBody))
	_ = body.Close()
}
