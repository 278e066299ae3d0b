package kengine

import "encoding/json"

// HTTPApp is the http app: a set of named HTTP servers.
type HTTPApp struct {
	// HTTPPort is the port Kengine treats as plain HTTP for automatic HTTPS. Default: 80.
	HTTPPort int `json:"http_port,omitempty"`

	// HTTPSPort is the port Kengine treats as HTTPS for automatic HTTPS. Default: 443.
	HTTPSPort int `json:"https_port,omitempty"`

	// GracePeriod is how long a config change waits for open connections to finish before
	// closing them. Zero waits forever.
	GracePeriod Duration `json:"grace_period,omitempty"`

	// ShutdownDelay is how long servers keep serving, with the {http.shutting_down}
	// placeholder set, before the grace period starts.
	ShutdownDelay Duration `json:"shutdown_delay,omitempty"`

	// Servers are the HTTP servers, by name. A name must not contain "/": the admin API
	// walks /id/ lookups through the config path, and a slash in a key breaks the walk (400
	// "invalid traversal path") for every @id below it.
	Servers map[string]*Server `json:"servers,omitempty"`
}

// Server is one HTTP server: listeners plus the routes that handle its requests.
type Server struct {
	// Listen lists the network addresses to bind, such as ":443" or "{env.POD_IP}:80".
	Listen []string `json:"listen,omitempty"`

	// ListenerWrappers wrap the listeners in order. Without a TLSListenerWrapper in the list,
	// TLS is terminated before all of them.
	ListenerWrappers []ListenerWrapper `json:"listener_wrappers,omitempty"`

	// ReadHeaderTimeout bounds reading the request headers.
	ReadHeaderTimeout Duration `json:"read_header_timeout,omitempty"`

	// IdleTimeout bounds how long an idle keep-alive connection stays open. Default: 5m.
	IdleTimeout Duration `json:"idle_timeout,omitempty"`

	// Routes handle the requests, first to last.
	Routes []Route `json:"routes,omitempty"`

	// Errors handles the errors that the routes return.
	Errors *ServerErrors `json:"errors,omitempty"`

	// TLSConnectionPolicies enable TLS on the listeners and choose the certificate and
	// settings per handshake; the first matching policy wins.
	TLSConnectionPolicies []TLSConnectionPolicy `json:"tls_connection_policies,omitempty"`

	// AutomaticHTTPS disables parts or all of automatic HTTPS for this server.
	AutomaticHTTPS *AutomaticHTTPS `json:"automatic_https,omitempty"`

	// StrictSNIHost requires the Host header to match the TLS ServerName. Default: true
	// when client authentication is configured, false otherwise.
	StrictSNIHost *bool `json:"strict_sni_host,omitempty"`

	// Logs enables access logs for this server.
	Logs *ServerLogs `json:"logs,omitempty"`

	// Protocols lists the HTTP versions to serve: "h1", "h2", "h2c", "h3".
	// Default: h1, h2 and h3.
	Protocols []string `json:"protocols,omitempty"`
}

// ServerErrors routes the errors returned by a server's handlers.
type ServerErrors struct {
	// Routes handle the error; the error is available in {http.error.*} placeholders.
	Routes []Route `json:"routes,omitempty"`
}

// AutomaticHTTPS controls automatic HTTPS for one server. Kengine turns it on by itself for
// host-matched routes (ACME certificates and HTTP->HTTPS redirects).
type AutomaticHTTPS struct {
	// Disable turns automatic HTTPS off entirely: no certificates, no redirects.
	Disable bool `json:"disable,omitempty"`

	// DisableRedirects turns off only the HTTP->HTTPS redirects.
	DisableRedirects bool `json:"disable_redirects,omitempty"`

	// DisableCertificates turns off only certificate management.
	DisableCertificates bool `json:"disable_certificates,omitempty"`

	// Skip lists hosts that get neither certificates nor redirects.
	Skip []string `json:"skip,omitempty"`

	// SkipCertificates lists hosts that get redirects but no managed certificates.
	SkipCertificates []string `json:"skip_certificates,omitempty"`

	// IgnoreLoadedCertificates manages certificates even for hosts that already have a
	// loaded certificate.
	IgnoreLoadedCertificates bool `json:"ignore_loaded_certificates,omitempty"`
}

// ServerLogs enables and routes a server's access logs.
type ServerLogs struct {
	// DefaultLoggerName is the logger (from the logging block) that receives access logs.
	DefaultLoggerName string `json:"default_logger_name,omitempty"`

	// LoggerNames maps request hosts to logger names.
	LoggerNames map[string][]string `json:"logger_names,omitempty"`

	// SkipHosts lists hosts whose requests are not logged.
	SkipHosts []string `json:"skip_hosts,omitempty"`

	// SkipUnmappedHosts skips requests whose host is not in LoggerNames.
	SkipUnmappedHosts bool `json:"skip_unmapped_hosts,omitempty"`
}

// Route is a set of matchers and the handlers that run when a request matches.
type Route struct {
	// ID names the route in the admin API (/id/<ID>); Kengine strips it before loading.
	ID string `json:"@id,omitempty"`

	// Group makes the route mutually exclusive with the other routes of the same group:
	// only the first matching one runs.
	Group string `json:"group,omitempty"`

	// Match lists matcher sets; the route matches when any set matches (OR), and a set
	// matches when all its matchers do (AND). Empty matches every request.
	Match []MatcherSet `json:"match,omitempty"`

	// Handle lists the handlers to run, in order.
	Handle []Handler `json:"handle,omitempty"`

	// Terminal stops the evaluation of later routes once this one matched.
	Terminal bool `json:"terminal,omitempty"`
}

// MatcherSet is a set of request matchers that must all match.
type MatcherSet struct {
	// Host matches the request host; "*.example.com" matches one label.
	Host []string `json:"host,omitempty"`

	// Path matches the request path exactly, or by prefix with a trailing "*".
	Path []string `json:"path,omitempty"`

	// PathRegexp matches the request path with a regular expression.
	PathRegexp *RegexpMatcher `json:"path_regexp,omitempty"`

	// Method matches the request method.
	Method []string `json:"method,omitempty"`

	// Header matches header fields: any listed value matches; a nil list means the field
	// must be absent and an empty list that it must be present.
	Header map[string][]string `json:"header,omitempty"`

	// HeaderRegexp matches header fields with regular expressions.
	HeaderRegexp map[string]*RegexpMatcher `json:"header_regexp,omitempty"`

	// Query matches query parameters: any listed value matches, "*" matches any value.
	Query map[string][]string `json:"query,omitempty"`

	// Protocol matches "http", "https", "grpc" or an HTTP version such as "http/2+".
	Protocol string `json:"protocol,omitempty"`

	// RemoteIP matches the address of the immediate peer.
	RemoteIP *IPRanges `json:"remote_ip,omitempty"`

	// ClientIP matches the client address, honouring trusted proxies.
	ClientIP *IPRanges `json:"client_ip,omitempty"`

	// VarsRegexp matches variables or placeholders (a key such as "{http.request.uuid}")
	// with regular expressions.
	VarsRegexp map[string]*RegexpMatcher `json:"vars_regexp,omitempty"`

	// Expression matches a CEL expression.
	Expression string `json:"expression,omitempty"`

	// Not matches when none of its matcher sets matches.
	Not []MatcherSet `json:"not,omitempty"`
}

// RegexpMatcher is a regular expression whose capture groups become placeholders.
type RegexpMatcher struct {
	// Name prefixes the capture-group placeholders: {http.regexp.<name>.<group>}.
	Name string `json:"name,omitempty"`

	// Pattern is the RE2 regular expression.
	Pattern string `json:"pattern"`
}

// IPRanges matches addresses against CIDR ranges or single IPs.
type IPRanges struct {
	// Ranges lists CIDR ranges or addresses.
	Ranges []string `json:"ranges,omitempty"`
}

// ListenerWrapper wraps a server's listeners; the name is its "wrapper" key.
type ListenerWrapper interface {
	// WrapperName returns the module name, such as "tls" or "layer4".
	WrapperName() string
}

// TLSListenerWrapper marks where in the wrapper list TLS is terminated.
type TLSListenerWrapper struct {
	// Module is the inline "wrapper": "tls" member that names the module; it holds no value.
	Module module[TLSListenerWrapper] `json:"wrapper"`
}

// WrapperName returns "tls".
func (TLSListenerWrapper) WrapperName() string { return "tls" }

// Layer4ListenerWrapper runs layer4 routes on an HTTP server's connections before HTTP sees
// them, for example to pass some TLS server names through on the HTTPS port. Connections no
// route handles continue to the HTTP server.
type Layer4ListenerWrapper struct {
	// Module is the inline "wrapper": "layer4" member that names the module; it holds no value.
	Module module[Layer4ListenerWrapper] `json:"wrapper"`

	// Routes handle the connections, first to last.
	Routes []Layer4Route `json:"routes,omitempty"`

	// MatchingTimeout bounds how long matching may wait for data. Default: 3s.
	MatchingTimeout Duration `json:"matching_timeout,omitempty"`
}

// WrapperName returns "layer4".
func (Layer4ListenerWrapper) WrapperName() string { return "layer4" }

// RawListenerWrapper is a listener wrapper given as raw JSON, including its "wrapper" key.
type RawListenerWrapper json.RawMessage

// WrapperName returns the "wrapper" key of the raw JSON.
func (w RawListenerWrapper) WrapperName() string { return rawModuleName(w, "wrapper") }

// MarshalJSON returns the raw JSON.
func (w RawListenerWrapper) MarshalJSON() ([]byte, error) { return marshalRaw(w) }

func (TLSListenerWrapper) moduleName() string { return "tls" }

func (Layer4ListenerWrapper) moduleName() string { return "layer4" }
