package kengine

import "encoding/json"

// Layer4App is the layer4 app (github.com/mholt/caddy-l4): TCP and UDP servers whose routes
// match and handle raw connections.
type Layer4App struct {
	// Servers are the layer4 servers, by name; as with HTTPApp.Servers, no "/" in names.
	Servers map[string]*Layer4Server `json:"servers,omitempty"`
}

// Layer4Server is one layer4 server.
type Layer4Server struct {
	// Listen lists the addresses to bind: ":9000" is TCP, "udp/:53" is UDP.
	Listen []string `json:"listen,omitempty"`

	// Routes handle the connections, first to last.
	Routes []Layer4Route `json:"routes,omitempty"`

	// IdleTimeout removes idle UDP associations. Default: 30s.
	IdleTimeout Duration `json:"idle_timeout,omitempty"`

	// MatchingTimeout bounds how long matching may wait for data. Default: 3s.
	MatchingTimeout Duration `json:"matching_timeout,omitempty"`
}

// Layer4Route is a set of connection matchers and the handlers that run on a match.
type Layer4Route struct {
	// Match lists matcher sets; any set may match (OR), all matchers of a set must (AND).
	// Empty matches every connection.
	Match []Layer4MatcherSet `json:"match,omitempty"`

	// Handle lists the handlers to run, in order.
	Handle []Layer4Handler `json:"handle,omitempty"`
}

// Layer4MatcherSet is a set of connection matchers that must all match.
type Layer4MatcherSet struct {
	// TLS matches a TLS ClientHello by its handshake matchers (sni, alpn).
	TLS *TLSHandshakeMatch `json:"tls,omitempty"`

	// RemoteIP matches the client address.
	RemoteIP *IPRanges `json:"remote_ip,omitempty"`

	// LocalIP matches the address the connection arrived on.
	LocalIP *IPRanges `json:"local_ip,omitempty"`

	// Not matches when none of its matcher sets matches.
	Not []Layer4MatcherSet `json:"not,omitempty"`
}

// Layer4Handler is a layer4 connection handler. Each concrete type encodes itself with a
// leading "handler": Layer4HandlerName() member. It is a separate interface from Handler so
// that an HTTP handler cannot end up in a layer4 route.
type Layer4Handler interface {
	// Layer4HandlerName returns the module name, such as "proxy".
	Layer4HandlerName() string
}

// Layer4Proxy proxies connections to upstreams.
type Layer4Proxy struct {
	// Module is the inline "handler": "proxy" member that names the module; it holds no value.
	Module module[Layer4Proxy] `json:"handler"`

	// Upstreams are the backends.
	Upstreams []Layer4Upstream `json:"upstreams,omitempty"`

	// LoadBalancing chooses an upstream per connection.
	LoadBalancing *Layer4LoadBalancing `json:"load_balancing,omitempty"`

	// ProxyProtocol sends a PROXY protocol header upstream: "v1" or "v2".
	ProxyProtocol string `json:"proxy_protocol,omitempty"`
}

// Layer4HandlerName returns "proxy".
func (Layer4Proxy) Layer4HandlerName() string { return "proxy" }

// Layer4Upstream is one backend of a layer4 proxy.
type Layer4Upstream struct {
	// Dial lists the addresses to connect to; "udp/10.0.0.7:53" dials UDP.
	Dial []string `json:"dial,omitempty"`

	// TLS enables TLS to the upstream.
	TLS *TransportTLS `json:"tls,omitempty"`

	// MaxConnections marks the upstream unhealthy above this many connections; zero means
	// no cap.
	MaxConnections int `json:"max_connections,omitempty"`

	// Weight is the upstream's weight for weighted_round_robin. Zero or less counts as 1,
	// so an upstream with no weight must be left out instead.
	Weight int `json:"weight,omitempty"`
}

// Layer4LoadBalancing chooses the upstream for each connection.
type Layer4LoadBalancing struct {
	// Selection chooses the upstream. Default: random. Note the key: "selection", where the
	// HTTP reverse proxy says "selection_policy".
	Selection *Layer4SelectionPolicy `json:"selection,omitempty"`

	// TryDuration is how long to keep trying upstreams when the chosen one is down.
	TryDuration Duration `json:"try_duration,omitempty"`

	// TryInterval is the pause between tries. Default: 250ms.
	TryInterval Duration `json:"try_interval,omitempty"`
}

// Layer4SelectionPolicy is a layer4 selection policy module.
type Layer4SelectionPolicy struct {
	// Policy is the module name: "random", "round_robin", "weighted_round_robin" (weights
	// come from Layer4Upstream.Weight), "least_conn", "first", "ip_hash", ...
	Policy string `json:"policy"`
}

// Layer4TLS terminates TLS; the handlers after it see the decrypted stream.
type Layer4TLS struct {
	// Module is the inline "handler": "tls" member that names the module; it holds no value.
	Module module[Layer4TLS] `json:"handler"`

	// ConnectionPolicies choose the certificate per handshake, as for HTTP servers.
	ConnectionPolicies []TLSConnectionPolicy `json:"connection_policies,omitempty"`
}

// Layer4HandlerName returns "tls".
func (Layer4TLS) Layer4HandlerName() string { return "tls" }

// Layer4Close closes the connection (caddy-l4's standard "close" handler). Unlike a TLS
// handshake refused by policy, which answers with an alert, the client sees the connection
// end, as for a port nobody serves.
type Layer4Close struct {
	// Module is the inline "handler": "close" member that names the module; it holds no value.
	Module module[Layer4Close] `json:"handler"`
}

// Layer4HandlerName returns "close".
func (Layer4Close) Layer4HandlerName() string { return "close" }

func (Layer4Close) moduleName() string { return "close" }

// Layer4Subroute groups layer4 routes into one handler.
type Layer4Subroute struct {
	// Module is the inline "handler": "subroute" member that names the module; it holds no value.
	Module module[Layer4Subroute] `json:"handler"`

	// Routes handle the connection, first to last.
	Routes []Layer4Route `json:"routes,omitempty"`

	// MatchingTimeout bounds how long matching may wait for data. Default: 3s.
	MatchingTimeout Duration `json:"matching_timeout,omitempty"`
}

// Layer4HandlerName returns "subroute".
func (Layer4Subroute) Layer4HandlerName() string { return "subroute" }

// RawLayer4Handler is a layer4 handler given as raw JSON, including its "handler" key.
type RawLayer4Handler json.RawMessage

// Layer4HandlerName returns the "handler" key of the raw JSON.
func (h RawLayer4Handler) Layer4HandlerName() string { return rawModuleName(h, "handler") }

// MarshalJSON returns the raw JSON.
func (h RawLayer4Handler) MarshalJSON() ([]byte, error) { return marshalRaw(h) }

func (Layer4Proxy) moduleName() string { return "proxy" }

func (Layer4TLS) moduleName() string { return "tls" }

func (Layer4Subroute) moduleName() string { return "subroute" }
