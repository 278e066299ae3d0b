package kengine

import "encoding/json"

// Handler is an HTTP handler in a route. Each concrete type encodes itself with a leading
// "handler": HandlerName() member, which is how Kengine tells the handlers of a list apart.
type Handler interface {
	// HandlerName returns the module name, such as "reverse_proxy".
	HandlerName() string
}

// Subroute groups routes so that they are evaluated together, as one handler.
type Subroute struct {
	// Module is the inline "handler": "subroute" member that names the module; it holds no value.
	Module module[Subroute] `json:"handler"`

	// Routes are evaluated in order.
	Routes []Route `json:"routes,omitempty"`

	// Errors handles the errors the routes return, before the server's error routes do.
	Errors *ServerErrors `json:"errors,omitempty"`
}

// HandlerName returns "subroute".
func (Subroute) HandlerName() string { return "subroute" }

// ReverseProxy proxies requests to upstreams.
type ReverseProxy struct {
	// Module is the inline "handler": "reverse_proxy" member that names the module; it holds no value.
	Module module[ReverseProxy] `json:"handler"`

	// Transport configures how the proxy talks to the upstreams. Default: HTTP/1.1 and
	// HTTP/2 without TLS.
	Transport *HTTPTransport `json:"transport,omitempty"`

	// LoadBalancing chooses an upstream per request and controls retries.
	LoadBalancing *LoadBalancing `json:"load_balancing,omitempty"`

	// Upstreams are the backends, in the order weights refer to.
	Upstreams []Upstream `json:"upstreams,omitempty"`

	// FlushInterval is how often the response is flushed to the client; -1 flushes
	// immediately (streaming).
	FlushInterval Duration `json:"flush_interval,omitempty"`

	// Headers manipulates the headers sent upstream and returned downstream.
	Headers *ReverseProxyHeaders `json:"headers,omitempty"`

	// Rewrite changes the request sent upstream without changing the original request.
	Rewrite *ProxyRewrite `json:"rewrite,omitempty"`

	// RequestBuffers, when positive, reads up to this many bytes of the request body into
	// memory before proxying; a body read whole can be sent again on a retry.
	RequestBuffers int64 `json:"request_buffers,omitempty"`
}

// HandlerName returns "reverse_proxy".
func (ReverseProxy) HandlerName() string { return "reverse_proxy" }

// Upstream is one backend of a reverse proxy.
type Upstream struct {
	// Dial is the network address to connect to, such as "10.0.0.7:8080".
	Dial string `json:"dial,omitempty"`

	// MaxRequests caps the concurrent requests to this upstream; zero means no cap.
	MaxRequests int `json:"max_requests,omitempty"`
}

// LoadBalancing chooses the upstream for each request.
type LoadBalancing struct {
	// SelectionPolicy chooses the upstream. Default: random.
	SelectionPolicy *SelectionPolicy `json:"selection_policy,omitempty"`

	// Retries is how many more times a failed request is retried on another upstream.
	Retries int `json:"retries,omitempty"`

	// TryDuration is how long to keep trying upstreams when the chosen one is down.
	TryDuration Duration `json:"try_duration,omitempty"`

	// TryInterval is the pause between tries. Default: 250ms with a TryDuration, else none.
	TryInterval Duration `json:"try_interval,omitempty"`

	// RetryMatch lists matcher sets (OR) that decide retries besides dial errors, which are
	// always retried: a set with an expression reading {http.reverse_proxy.status_code}
	// retries the responses it matches, and the sets are evaluated against the request, with
	// {http.reverse_proxy.is_transport_error} true, after a failure other than a dial error.
	// Without it, only GET requests are retried after such a failure.
	RetryMatch []MatcherSet `json:"retry_match,omitempty"`
}

// SelectionPolicy is a reverse proxy selection policy module.
type SelectionPolicy struct {
	// Policy is the module name: "random", "round_robin", "weighted_round_robin",
	// "least_conn", "first", "ip_hash", "client_ip_hash", "uri_hash", ...
	Policy string `json:"policy"`

	// Weights gives, for weighted_round_robin, the weight of each upstream in upstream
	// order. Zero takes an upstream out of rotation; the sum must be positive, and with
	// fewer than two weights only the first upstream is ever chosen.
	Weights []int `json:"weights,omitempty"`
}

// HTTPTransport is the reverse proxy's "http" transport.
type HTTPTransport struct {
	// Module is the inline "protocol": "http" member that names the module; it holds no value.
	Module module[HTTPTransport] `json:"protocol"`

	// TLS enables TLS to the upstreams.
	TLS *TransportTLS `json:"tls,omitempty"`

	// DialTimeout bounds connecting to an upstream. Default: 3s.
	DialTimeout Duration `json:"dial_timeout,omitempty"`

	// ResponseHeaderTimeout bounds waiting for the upstream's response headers.
	ResponseHeaderTimeout Duration `json:"response_header_timeout,omitempty"`

	// Versions lists the HTTP versions to use with upstreams: "1.1", "2", "h2c", "3".
	// Default: 1.1 and 2.
	Versions []string `json:"versions,omitempty"`
}

// TransportTLS configures TLS from the proxy to its upstreams.
type TransportTLS struct {
	// CA is the pool of certificate authorities trusted to sign upstream certificates.
	// Default: the system pool.
	CA CAPool `json:"ca,omitempty"`

	// InsecureSkipVerify turns off verification of the upstream certificate.
	InsecureSkipVerify bool `json:"insecure_skip_verify,omitempty"`

	// HandshakeTimeout bounds the TLS handshake. Default: 10s.
	HandshakeTimeout Duration `json:"handshake_timeout,omitempty"`

	// ServerName is the SNI to send and the name to verify. It accepts request placeholders
	// such as {http.request.host}.
	ServerName string `json:"server_name,omitempty"`

	// ExceptPorts lists upstream ports spoken to without TLS, so that one transport can
	// reach TLS upstreams and plain ones (such as a loopback server) by port.
	ExceptPorts []string `json:"except_ports,omitempty"`
}

// CAPool is a source of trusted certificate authorities; the name is its "provider" key.
type CAPool interface {
	// CAPoolProvider returns the module name, such as "inline".
	CAPoolProvider() string
}

// InlineCAPool is a pool of CA certificates written into the config.
type InlineCAPool struct {
	// Module is the inline "provider": "inline" member that names the module; it holds no value.
	Module module[InlineCAPool] `json:"provider"`

	// TrustedCACerts are base64-encoded DER certificates (PEM bodies without the armor).
	TrustedCACerts []string `json:"trusted_ca_certs,omitempty"`
}

// CAPoolProvider returns "inline".
func (InlineCAPool) CAPoolProvider() string { return "inline" }

// RawCAPool is a CA pool given as raw JSON, including its "provider" key.
type RawCAPool json.RawMessage

// CAPoolProvider returns the "provider" key of the raw JSON.
func (p RawCAPool) CAPoolProvider() string { return rawModuleName(p, "provider") }

// MarshalJSON returns the raw JSON.
func (p RawCAPool) MarshalJSON() ([]byte, error) { return marshalRaw(p) }

// ReverseProxyHeaders manipulates the headers of proxied requests and responses: the fields of
// a Headers handler, without its "handler" key.
type ReverseProxyHeaders struct {
	// Request changes the headers sent upstream.
	Request *HeaderOps `json:"request,omitempty"`

	// Response changes the headers of the upstream's response.
	Response *RespHeaderOps `json:"response,omitempty"`
}

// ProxyRewrite rewrites the request the proxy sends upstream: the fields of a Rewrite handler,
// without its "handler" key.
type ProxyRewrite struct {
	// Method replaces the request method.
	Method string `json:"method,omitempty"`

	// URI replaces the URI; it accepts placeholders, and a value starting with "?" changes
	// only the query.
	URI string `json:"uri,omitempty"`

	// StripPathPrefix removes a prefix from the path.
	StripPathPrefix string `json:"strip_path_prefix,omitempty"`

	// StripPathSuffix removes a suffix from the path.
	StripPathSuffix string `json:"strip_path_suffix,omitempty"`

	// URISubstring replaces substrings of the URI.
	URISubstring []SubstringReplacement `json:"uri_substring,omitempty"`

	// PathRegexp replaces regular expression matches in the path.
	PathRegexp []RegexReplacement `json:"path_regexp,omitempty"`
}

// Headers manipulates request and response headers.
type Headers struct {
	// Module is the inline "handler": "headers" member that names the module; it holds no value.
	Module module[Headers] `json:"handler"`

	// Request changes the request headers.
	Request *HeaderOps `json:"request,omitempty"`

	// Response changes the response headers.
	Response *RespHeaderOps `json:"response,omitempty"`
}

// HandlerName returns "headers".
func (Headers) HandlerName() string { return "headers" }

// HeaderOps lists header changes. Kengine applies them in the order add, set, delete,
// replace, except that deleting "*" happens first.
type HeaderOps struct {
	// Add appends values to header fields.
	Add map[string][]string `json:"add,omitempty"`

	// Set overwrites header fields.
	Set map[string][]string `json:"set,omitempty"`

	// Delete removes header fields; "*" is a wildcard prefix or suffix.
	Delete []string `json:"delete,omitempty"`

	// Replace substitutes within header values, by field name ("*" for all fields).
	Replace map[string][]HeaderReplacement `json:"replace,omitempty"`
}

// HeaderReplacement substitutes text within a header value.
type HeaderReplacement struct {
	// Search is the substring to find.
	Search string `json:"search,omitempty"`

	// SearchRegexp is the regular expression to find, instead of Search.
	SearchRegexp string `json:"search_regexp,omitempty"`

	// Replace is the replacement; it may refer to capture groups as $1.
	Replace string `json:"replace,omitempty"`
}

// RespHeaderOps lists response header changes.
type RespHeaderOps struct {
	*HeaderOps

	// Require applies the changes only to responses that match.
	Require *ResponseMatcher `json:"require,omitempty"`

	// Deferred applies the changes when the response is written rather than before the
	// next handler runs; needed to delete fields that later handlers set.
	Deferred bool `json:"deferred,omitempty"`
}

// ResponseMatcher matches responses.
type ResponseMatcher struct {
	// StatusCode matches status codes; a single digit matches its class (5 for 5xx).
	StatusCode []int `json:"status_code,omitempty"`

	// Headers matches response header fields, like MatcherSet.Header.
	Headers map[string][]string `json:"headers,omitempty"`
}

// Rewrite changes the request URI or method for the handlers that follow.
type Rewrite struct {
	// Module is the inline "handler": "rewrite" member that names the module; it holds no value.
	Module module[Rewrite] `json:"handler"`

	// Method replaces the request method.
	Method string `json:"method,omitempty"`

	// URI replaces the URI; it accepts placeholders, and a value starting with "?" changes
	// only the query.
	URI string `json:"uri,omitempty"`

	// StripPathPrefix removes a prefix from the path.
	StripPathPrefix string `json:"strip_path_prefix,omitempty"`

	// StripPathSuffix removes a suffix from the path.
	StripPathSuffix string `json:"strip_path_suffix,omitempty"`

	// URISubstring replaces substrings of the URI.
	URISubstring []SubstringReplacement `json:"uri_substring,omitempty"`

	// PathRegexp replaces regular expression matches in the path.
	PathRegexp []RegexReplacement `json:"path_regexp,omitempty"`
}

// HandlerName returns "rewrite".
func (Rewrite) HandlerName() string { return "rewrite" }

// SubstringReplacement replaces a substring.
type SubstringReplacement struct {
	// Find is the substring to find.
	Find string `json:"find,omitempty"`

	// Replace is the replacement.
	Replace string `json:"replace,omitempty"`

	// Limit caps the number of replacements; zero or less replaces all.
	Limit int `json:"limit,omitempty"`
}

// RegexReplacement replaces regular expression matches.
type RegexReplacement struct {
	// Find is the RE2 regular expression.
	Find string `json:"find,omitempty"`

	// Replace is the replacement; it may refer to capture groups as $1.
	Replace string `json:"replace,omitempty"`
}

// StaticResponse writes a fixed response.
type StaticResponse struct {
	// Module is the inline "handler": "static_response" member that names the module; it holds no value.
	Module module[StaticResponse] `json:"handler"`

	// ID names the handler in the admin API (/id/<ID>); it must be unique in the config.
	ID string `json:"@id,omitempty"`

	// StatusCode is the status to write, as an integer or a placeholder. Default: 200.
	StatusCode WeakString `json:"status_code,omitempty"`

	// Headers are set on the response.
	Headers map[string][]string `json:"headers,omitempty"`

	// Body is the response body.
	Body string `json:"body,omitempty"`

	// Close closes the client connection after the response.
	Close bool `json:"close,omitempty"`

	// Abort closes the connection without writing a response.
	Abort bool `json:"abort,omitempty"`
}

// HandlerName returns "static_response".
func (StaticResponse) HandlerName() string { return "static_response" }

// RawHandler is a handler given as raw JSON, including its "handler" key: an escape hatch for
// modules this package has no type for.
type RawHandler json.RawMessage

// HandlerName returns the "handler" key of the raw JSON.
func (h RawHandler) HandlerName() string { return rawModuleName(h, "handler") }

// MarshalJSON returns the raw JSON.
func (h RawHandler) MarshalJSON() ([]byte, error) { return marshalRaw(h) }

func (Subroute) moduleName() string { return "subroute" }

func (ReverseProxy) moduleName() string { return "reverse_proxy" }

func (Headers) moduleName() string { return "headers" }

func (Rewrite) moduleName() string { return "rewrite" }

func (StaticResponse) moduleName() string { return "static_response" }

func (HTTPTransport) moduleName() string { return "http" }

func (InlineCAPool) moduleName() string { return "inline" }
