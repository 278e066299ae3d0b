package controller

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Model is everything one Gateway's Kengine pods must serve, in the order they must match it.
// translate builds it from a Snapshot; render turns it into Kengine JSON. It holds no
// Kubernetes objects, only the resolved facts render needs.
type Model struct {
	// Gateway is the Gateway this model belongs to.
	Gateway types.NamespacedName
	// Servers has one entry per listener port, sorted by port.
	Servers []*ServerModel
	// Certificates are the TLS key pairs the HTTPS listeners use, sorted by Tag.
	Certificates []Certificate
}

// ServerModel is one listening port of the Gateway with every listener that shares it.
type ServerModel struct {
	// Port is the port Kengine listens on.
	Port int32
	// TLS is true for HTTPS listeners (TLS terminated by Kengine).
	TLS bool
	// Listeners sorted from the most to the least specific hostname: a request is handled by
	// the first listener whose hostname matches it, as the Gateway API requires.
	Listeners []*ListenerModel
}

// ListenerModel is one accepted listener and the routes attached to it.
type ListenerModel struct {
	// Name is the listener's sectionName.
	Name string
	// Hostname is the listener hostname; empty matches every host.
	Hostname string
	// CertificateTags select this listener's certificates (HTTPS only).
	CertificateTags []string
	// VirtualHosts group the attached rules by the hostname they answer, most specific
	// first, so that a request is matched against one host's rules only.
	VirtualHosts []*VirtualHost
}

// VirtualHost is the set of rules that answer one hostname on one listener.
type VirtualHost struct {
	// Hostname is exact ("a.example.com"), a wildcard ("*.example.com") or empty (any host).
	Hostname string
	// Rules in match precedence order.
	Rules []*RouteRule
}

// RouteRule is one HTTPRoute match with what to do when it matches. A route rule with
// several matches becomes several RouteRules, because precedence is defined per match.
type RouteRule struct {
	// Route is the HTTPRoute this rule came from.
	Route types.NamespacedName
	// RuleIndex and MatchIndex locate the rule and match inside the route.
	RuleIndex, MatchIndex int
	// Match is the match condition (path, headers, query parameters, method).
	Match gatewayv1.HTTPRouteMatch
	// Filters run in order before the request is forwarded.
	Filters []gatewayv1.HTTPRouteFilter
	// Backends receive the traffic by weight. Empty means the rule has no backendRefs.
	Backends []Backend
	// ListenerPort is the port of the listener that accepted this rule; redirects use it.
	ListenerPort int32
	// ListenerTLS is true when the listener is HTTPS; redirects use it for the scheme.
	ListenerTLS bool
	// created is the route's creation time, a precedence tie-breaker.
	created metav1.Time
}

// Backend is one weighted destination of a rule.
type Backend struct {
	// Service is the backend Service (for diagnostics); empty for unresolvable references.
	Service types.NamespacedName
	// Weight is the relative share of traffic.
	Weight int32
	// Endpoints are "ip:port" addresses, sorted.
	Endpoints []string
	// FailureStatus, when not zero, is answered for this backend's share of traffic instead
	// of forwarding: 500 for an invalid reference, 503 for a Service with no ready endpoint.
	FailureStatus int
	// Filters are the backendRef-level filters.
	Filters []gatewayv1.HTTPRouteFilter
}

// Certificate is a PEM key pair loaded into Kengine and selected by Tag.
type Certificate struct {
	// Tag identifies the certificate in TLS connection policies ("namespace/name" of the Secret).
	Tag string
	// CertPEM is the certificate chain.
	CertPEM []byte
	// KeyPEM is the private key. Never log it.
	KeyPEM []byte
}
