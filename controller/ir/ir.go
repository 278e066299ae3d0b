// Package ir is the protocol-neutral model of what one Gateway's Kengine pods serve. translate
// builds it from Gateway API objects; render turns it into Kengine JSON. It holds no Kubernetes
// or Gateway API type: every match, action, listener and backend is already resolved into the
// model's own terms, so render never interprets Gateway API semantics.
//
// Hostnames follow one rule everywhere: "" matches every host, "a.example.com" matches itself
// only, and "*.example.com" matches any name with one or more labels before ".example.com"
// (never "example.com" itself). Lists are in the order they must be matched, and the model is
// deterministic: the same input gives the same model.
package ir

import (
	"encoding/json"
	"fmt"
	"time"
)

// Gateway is everything one Gateway's Kengine pods serve.
type Gateway struct {
	// Name is the Gateway's "namespace/name", for diagnostics.
	Name string `json:"name"`
	// HTTP are the ports served by HTTP (and HTTPS) servers, sorted by port.
	HTTP []*HTTPServer `json:"http,omitempty"`
	// TLS are the ports whose TLS connections are routed by SNI without an HTTP server
	// (passthrough or terminate), sorted by port.
	TLS []*TLSServer `json:"tls,omitempty"`
	// TCP are the ports whose connections are forwarded as plain streams, sorted by port.
	TCP []*StreamServer `json:"tcp,omitempty"`
	// UDP are the ports whose datagrams are forwarded, sorted by port.
	UDP []*StreamServer `json:"udp,omitempty"`
	// Certificates are the key pairs the TLS listeners present, sorted by Tag.
	Certificates []Certificate `json:"certificates,omitempty"`
}

// HTTPServer is one port served by HTTP, with every listener that shares it.
type HTTPServer struct {
	// Port is the port to listen on.
	Port int `json:"port"`
	// TLS is true when the port terminates TLS (HTTPS); its listeners then carry TLS settings.
	// The TLS server name (SNI) of a connection selects a listener the way the Host header
	// does (first match in Listeners order; no SNI selects the listener without a hostname),
	// and a request whose Host selects another listener than its connection's server name is
	// answered 421 Misdirected Request: a connection set up under one listener's
	// certificate and client validation never serves another listener's hosts.
	TLS bool `json:"tls,omitempty"`
	// Listeners in match order: most specific hostname first.
	Listeners []*HTTPListener `json:"listeners,omitempty"`
}

// HTTPListener is one listener of an HTTP server and the hosts it answers.
type HTTPListener struct {
	// Name is the listener's name in the Gateway, for diagnostics.
	Name string `json:"name"`
	// Hostname restricts the listener to matching hosts (and, with TLS, SNI).
	Hostname string `json:"hostname,omitempty"`
	// TLS is the listener's certificate selection and client validation (HTTPS only).
	TLS *ListenerTLS `json:"tls,omitempty"`
	// VirtualHosts in match order: most specific hostname first.
	VirtualHosts []*VirtualHost `json:"virtualHosts,omitempty"`
}

// ListenerTLS is how a listener terminates TLS.
type ListenerTLS struct {
	// CertificateTags select the listener's certificates among Gateway.Certificates.
	CertificateTags []string `json:"certificateTags"`
	// ClientValidation, when set, asks clients for a certificate signed by one of its CAs.
	ClientValidation *ClientValidation `json:"clientValidation,omitempty"`
}

// ClientValidation is the check of client certificates on a TLS listener.
type ClientValidation struct {
	// CACertificates are the PEM certificates of the trusted authorities; they are also
	// named to clients as the authorities whose certificates the listener accepts.
	CACertificates []string `json:"caCertificates"`
	// Mode is what the handshake asks of a client certificate.
	Mode ClientValidationMode `json:"mode,omitempty"`
}

// ClientValidationMode is how strictly a listener checks client certificates.
type ClientValidationMode string

// Client validation modes.
const (
	// ClientCertRequired fails the handshake of a client that presents no certificate or one
	// that does not chain to CACertificates.
	ClientCertRequired ClientValidationMode = ""
	// ClientCertUnverified asks for a certificate but accepts every client: with none, or
	// with one that does not chain to CACertificates. Authorization is left to the backends.
	ClientCertUnverified ClientValidationMode = "Unverified"
)

// VirtualHost is the set of routes that answer one hostname on one listener.
type VirtualHost struct {
	// Hostname is the host these routes answer; "" answers every host the listener admits.
	Hostname string `json:"hostname,omitempty"`
	// Routes in match precedence order: the first whose match admits a request handles it.
	Routes []*HTTPRoute `json:"routes"`
}

// HTTPRoute is one match with what to do on it: filters in order, then exactly one action
// (Redirect, Response, or forwarding to Backends).
type HTTPRoute struct {
	// Source names the object, rule and match this route came from, for diagnostics.
	Source Source `json:"source"`
	// Match admits the requests this route handles.
	Match HTTPMatch `json:"match"`
	// Filters edit the request and the response, in order.
	Filters []HTTPFilter `json:"filters,omitempty"`
	// Redirect, when set, answers with a redirect and ends the route.
	Redirect *Redirect `json:"redirect,omitempty"`
	// Response, when set (and Redirect is not), answers with a fixed status.
	Response *DirectResponse `json:"response,omitempty"`
	// Backends share the forwarded traffic by weight; every weight is positive.
	Backends []Backend `json:"backends,omitempty"`
	// Timeouts, when set, bound how long forwarding waits for the backends.
	Timeouts *Timeouts `json:"timeouts,omitempty"`
	// Retry, when set, sends a request again after a failed attempt.
	Retry *Retry `json:"retry,omitempty"`
}

// Timeouts bound the forwarding of a route; a zero field means no limit.
type Timeouts struct {
	// BackendResponse bounds each attempt's wait for the backend's response headers, counted
	// from the moment the request has been sent to it. An attempt that runs out fails as
	// timed out: it is retried if the route retries, and otherwise answered with 504.
	BackendResponse Duration `json:"backendResponse,omitempty"`
}

// Retry sends a request again, to the route's backends, after an attempt fails. An attempt
// fails when the backend cannot be reached, when the connection breaks before the response
// headers arrive, when it runs out of Timeouts.BackendResponse, or when its response status
// is one of Statuses. Once the attempts are used up, the client gets the last failure: the
// backend's own status for a status failure, 504 for a timeout, 502 otherwise.
type Retry struct {
	// Attempts is how many times one request may be sent again; at least 1.
	Attempts int `json:"attempts"`
	// Statuses are the response statuses that fail an attempt, sorted and unique; empty
	// retries only attempts that got no response.
	Statuses []int `json:"statuses,omitempty"`
	// Backoff is the pause before each new attempt; zero sends it at once.
	Backoff Duration `json:"backoff,omitempty"`
}

// Duration is a length of time. It encodes as a Go duration string ("1.5s"), so models read
// and compare easily.
type Duration time.Duration

// MarshalJSON encodes the duration as a string such as "500ms".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON decodes a duration string such as "500ms".
func (d *Duration) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	*d = Duration(v)
	return nil
}

// Source names where a part of the model came from.
type Source struct {
	// Kind is the object's kind ("HTTPRoute").
	Kind string `json:"kind"`
	// Namespace and Name identify the object.
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Rule and Match are the indexes of the rule and of its match.
	Rule  int `json:"rule"`
	Match int `json:"match"`
	// RuleName is the rule's name, when it has one.
	RuleName string `json:"ruleName,omitempty"`
}

// HTTPMatch is a request condition; every part that is set must hold.
type HTTPMatch struct {
	// Path matches the request path; the zero value matches every path.
	Path PathMatch `json:"path,omitzero"`
	// Headers match request headers; names are canonical and unique.
	Headers []StringMatch `json:"headers,omitempty"`
	// Query matches query parameters by exact value; names are unique.
	Query []StringMatch `json:"query,omitempty"`
	// Method matches the request method; empty matches every method.
	Method string `json:"method,omitempty"`
}

// PathMatch is a condition on the request path.
type PathMatch struct {
	// Kind is how Value is compared; empty matches every path.
	Kind PathMatchKind `json:"kind,omitempty"`
	// Value is the path, the prefix (whole segments, without a trailing "/"), or the
	// regular expression (RE2, matching the whole path).
	Value string `json:"value,omitempty"`
}

// PathMatchKind is how a path is compared.
type PathMatchKind string

// Path comparisons.
const (
	// PathExact matches the path exactly.
	PathExact PathMatchKind = "Exact"
	// PathPrefix matches the path and every path below it, by whole segments: "/a" admits
	// "/a" and "/a/b", not "/ab".
	PathPrefix PathMatchKind = "Prefix"
	// PathRegex matches a path the regular expression matches as a whole.
	PathRegex PathMatchKind = "Regex"
)

// StringMatch is a condition on a named value (a header or a query parameter).
type StringMatch struct {
	// Name is the header or parameter name.
	Name string `json:"name"`
	// Regex is true when Value is a regular expression (RE2) matching the whole value;
	// otherwise the value must equal Value.
	Regex bool `json:"regex,omitempty"`
	// Value is the value or the expression.
	Value string `json:"value"`
}

// HTTPFilter is one edit of the request or response; exactly one field is set.
type HTTPFilter struct {
	// RequestHeaders edits the request headers.
	RequestHeaders *HeaderEdits `json:"requestHeaders,omitempty"`
	// ResponseHeaders edits the response headers.
	ResponseHeaders *HeaderEdits `json:"responseHeaders,omitempty"`
	// Rewrite changes the path and/or the Host sent to the backends.
	Rewrite *Rewrite `json:"rewrite,omitempty"`
	// CORS answers CORS preflight requests itself and adds the CORS response headers to the
	// other requests of an allowed origin.
	CORS *CORS `json:"cors,omitempty"`
}

// CORS is the cross-origin resource sharing policy of a route (the Fetch standard's CORS
// protocol). A preflight request (OPTIONS with Origin and Access-Control-Request-Method) is
// answered with 204 and never forwarded: with the Access-Control-Allow-* headers when its
// origin is allowed, without them otherwise. Any other request of an allowed origin is handled
// as usual, and its response gets Access-Control-Allow-Origin (the request's Origin),
// Access-Control-Allow-Credentials and Access-Control-Expose-Headers. Responses for an
// allowed origin carry "Vary: Origin".
type CORS struct {
	// AnyOrigin allows every origin; AllowOrigins is then empty.
	AnyOrigin bool `json:"anyOrigin,omitempty"`
	// AllowOrigins are the allowed origins.
	AllowOrigins []Origin `json:"allowOrigins,omitempty"`
	// AnyMethod allows every method: a preflight's Access-Control-Allow-Methods repeats its
	// Access-Control-Request-Method.
	AnyMethod bool `json:"anyMethod,omitempty"`
	// AllowMethods are the allowed methods, in upper case.
	AllowMethods []string `json:"allowMethods,omitempty"`
	// AnyHeader allows every request header: a preflight's Access-Control-Allow-Headers
	// repeats its Access-Control-Request-Headers, and is left out when that is absent.
	AnyHeader bool `json:"anyHeader,omitempty"`
	// AllowHeaders are the allowed request header names.
	AllowHeaders []string `json:"allowHeaders,omitempty"`
	// ExposeHeaders are the response header names scripts may read; "*" alone exposes all
	// of them, and is only used without credentials.
	ExposeHeaders []string `json:"exposeHeaders,omitempty"`
	// AllowCredentials sends "Access-Control-Allow-Credentials: true".
	AllowCredentials bool `json:"allowCredentials,omitempty"`
	// MaxAge is how many seconds a preflight answer may be cached; at least 1.
	MaxAge int `json:"maxAge"`
}

// Origin is an allowed origin: a scheme, a host and a port, compared case-insensitively with
// a request's Origin header.
type Origin struct {
	// Scheme is "http" or "https".
	Scheme string `json:"scheme"`
	// Host is a DNS name or an IPv4 address in lower case; "*" matches every host, and
	// "*.example.com" every name that ends in ".example.com" (any number of labels).
	Host string `json:"host"`
	// Port is the origin's port; zero is the scheme's default port (80 or 443), which an
	// Origin header may also leave out.
	Port int `json:"port,omitempty"`
}

// HeaderEdits are header changes, applied as Set, then Add, then Remove.
type HeaderEdits struct {
	// Set replaces the values of these headers.
	Set []Header `json:"set,omitempty"`
	// Add appends these values.
	Add []Header `json:"add,omitempty"`
	// Remove deletes these headers.
	Remove []string `json:"remove,omitempty"`
}

// Header is a header name and a literal value.
type Header struct {
	// Name is the header name.
	Name string `json:"name"`
	// Value is taken literally.
	Value string `json:"value"`
}

// Rewrite changes the request before it is forwarded.
type Rewrite struct {
	// Path, when set, rewrites the path (the query string stays).
	Path *PathRewrite `json:"path,omitempty"`
	// Hostname, when set, is the Host header sent to the backends.
	Hostname string `json:"hostname,omitempty"`
}

// PathRewrite replaces the whole path or a matched prefix of it.
type PathRewrite struct {
	// ReplacePrefix is true when Replacement replaces Prefix; otherwise it replaces the whole
	// path.
	ReplacePrefix bool `json:"replacePrefix,omitempty"`
	// Prefix is the matched path prefix (whole segments, without a trailing "/"; "" for the
	// root) that Replacement replaces.
	Prefix string `json:"prefix,omitempty"`
	// Replacement is the literal new path or prefix; a prefix replacement has no trailing
	// "/", and an empty result is the root path.
	Replacement string `json:"replacement"`
}

// Redirect answers with a redirect whose Location is built from the request.
type Redirect struct {
	// Scheme of the Location ("http" or "https").
	Scheme string `json:"scheme"`
	// Hostname of the Location; empty keeps the request's host.
	Hostname string `json:"hostname,omitempty"`
	// Port of the Location; zero leaves it out (the scheme's default).
	Port int `json:"port,omitempty"`
	// Path, when set, rewrites the path of the Location; otherwise the request's is kept.
	Path *PathRewrite `json:"path,omitempty"`
	// StatusCode is the redirect status (301, 302, 303, 307, 308).
	StatusCode int `json:"statusCode"`
}

// DirectResponse answers every request with a status and no body.
type DirectResponse struct {
	// StatusCode is the answered status.
	StatusCode int `json:"statusCode"`
}

// Backend is one weighted destination: a resolved set of endpoints, or a failure status for
// its share of the traffic.
type Backend struct {
	// Name is the backend's "namespace/name:port", for diagnostics; empty when unresolved.
	Name string `json:"name,omitempty"`
	// Weight is the relative share of the traffic; always positive.
	Weight int32 `json:"weight"`
	// Endpoints are the "ip:port" addresses to send to, sorted.
	Endpoints []string `json:"endpoints,omitempty"`
	// Failure, when not zero, is the status answered for this share instead of forwarding
	// (HTTP only: 500 for an invalid reference, 503 for no ready endpoint).
	Failure int `json:"failure,omitempty"`
	// Protocol is how the endpoints are spoken to.
	Protocol Protocol `json:"protocol,omitempty"`
	// TLS, when set, is the TLS the endpoints are spoken to over, and how they are verified.
	TLS *BackendTLS `json:"tls,omitempty"`
	// Filters edit only the requests sent to this backend (and their responses), after the
	// route's own filters; a redirect is never among them.
	Filters []HTTPFilter `json:"filters,omitempty"`
}

// Protocol is an application protocol spoken to backends.
type Protocol string

// Backend protocols.
const (
	// HTTP1 is HTTP/1.1 (the default for HTTP routes), connection upgrades such as
	// WebSocket included.
	HTTP1 Protocol = ""
	// H2C is HTTP/2 over cleartext, with prior knowledge.
	H2C Protocol = "h2c"
)

// BackendTLS is TLS towards a backend; it is always verified.
type BackendTLS struct {
	// ServerName is sent as SNI and is the name the certificate must carry unless
	// SubjectAltNames are given.
	ServerName string `json:"serverName"`
	// CACertificates are the PEM certificates of the trusted authorities; empty means the
	// system's trust store.
	CACertificates []string `json:"caCertificates,omitempty"`
	// SubjectAltNames, when set, are the names (DNS names or URIs) of which the certificate
	// must carry one, instead of ServerName.
	SubjectAltNames []string `json:"subjectAltNames,omitempty"`
	// ClientCertificateTag selects the certificate presented to the backend; empty presents
	// none.
	ClientCertificateTag string `json:"clientCertificateTag,omitempty"`
}

// TLSServer is one port whose TLS connections are routed by SNI.
type TLSServer struct {
	// Port is the port to listen on.
	Port int `json:"port"`
	// Routes in match order: most specific hostname first.
	Routes []*TLSRoute `json:"routes,omitempty"`
}

// TLSRoute forwards the TLS connections for one SNI hostname.
type TLSRoute struct {
	// Source names the object this route came from, for diagnostics.
	Source Source `json:"source"`
	// Hostname is the SNI this route answers; "" answers every SNI.
	Hostname string `json:"hostname,omitempty"`
	// Terminate, when set, terminates TLS and forwards the plain stream; otherwise the
	// connection is passed through undecrypted.
	Terminate *ListenerTLS `json:"terminate,omitempty"`
	// Backends share the connections by weight.
	Backends []Backend `json:"backends,omitempty"`
}

// StreamServer is one TCP or UDP port forwarded to backends.
type StreamServer struct {
	// Port is the port to listen on.
	Port int `json:"port"`
	// Source names the object the backends came from, for diagnostics.
	Source Source `json:"source"`
	// Backends share the connections (or UDP sessions) by weight.
	Backends []Backend `json:"backends,omitempty"`
}

// Certificate is a PEM key pair selected by its Tag.
type Certificate struct {
	// Tag identifies the certificate ("namespace/name" of its Secret).
	Tag string `json:"tag"`
	// CertPEM is the certificate chain.
	CertPEM string `json:"certPEM"`
	// KeyPEM is the private key. Never log it.
	KeyPEM string `json:"keyPEM"`
}
