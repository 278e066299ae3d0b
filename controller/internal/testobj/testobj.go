// Package testobj builds the Gateway API and core objects the controller's tests use, with
// small option functions, so that every stage's tests describe their input the same way.
package testobj

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/render"
	"github.com/khulnasoft/gateway/controller/translate"
	"github.com/khulnasoft/gateway/kengine"
)

// ControllerName is the controller name of the test GatewayClass.
const ControllerName = "khulnasoft.com/kengine-gateway"

// Time is the creation time of test routes.
var Time = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// Class is a GatewayClass of ControllerName named "kengine".
func Class() *gatewayv1.GatewayClass {
	return &gatewayv1.GatewayClass{
		ObjectMeta: metav1.ObjectMeta{Name: "kengine", Generation: 1},
		Spec:       gatewayv1.GatewayClassSpec{ControllerName: ControllerName},
	}
}

// GatewayOpt changes a test Gateway.
type GatewayOpt func(*gatewayv1.Gateway)

// Gateway is the Gateway infra/gw of class "kengine" at generation 3.
func Gateway(opts ...GatewayOpt) *gatewayv1.Gateway {
	gw := &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "gw", Generation: 3},
		Spec:       gatewayv1.GatewaySpec{GatewayClassName: "kengine"},
	}
	for _, o := range opts {
		o(gw)
	}
	return gw
}

// Listener adds a listener.
func Listener(name string, proto gatewayv1.ProtocolType, port int32, hostname string, mods ...func(*gatewayv1.Listener)) GatewayOpt {
	return func(gw *gatewayv1.Gateway) {
		l := gatewayv1.Listener{Name: gatewayv1.SectionName(name), Protocol: proto, Port: gatewayv1.PortNumber(port)}
		if hostname != "" {
			l.Hostname = ptr.To(gatewayv1.Hostname(hostname))
		}
		for _, m := range mods {
			m(&l)
		}
		gw.Spec.Listeners = append(gw.Spec.Listeners, l)
	}
}

// FromAll lets a listener accept routes from every namespace.
func FromAll(l *gatewayv1.Listener) {
	l.AllowedRoutes = &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{From: ptr.To(gatewayv1.NamespacesFromAll)}}
}

// Cert terminates TLS on a listener with the Secret ns/name ("" ns: the Gateway's).
func Cert(ns, name string) func(*gatewayv1.Listener) {
	return func(l *gatewayv1.Listener) {
		ref := gatewayv1.SecretObjectReference{Name: gatewayv1.ObjectName(name)}
		if ns != "" {
			ref.Namespace = ptr.To(gatewayv1.Namespace(ns))
		}
		l.TLS = &gatewayv1.ListenerTLSConfig{Mode: ptr.To(gatewayv1.TLSModeTerminate), CertificateRefs: []gatewayv1.SecretObjectReference{ref}}
	}
}

// RouteOpt changes a test HTTPRoute.
type RouteOpt func(*gatewayv1.HTTPRoute)

// Route is an HTTPRoute at generation 2, created at Time.
func Route(ns, name string, opts ...RouteOpt) *gatewayv1.HTTPRoute {
	r := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Generation: 2, CreationTimestamp: metav1.NewTime(Time)}}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Parent adds a parentRef to the Gateway ns/name, with an optional sectionName.
func Parent(ns, name, section string) RouteOpt {
	return func(r *gatewayv1.HTTPRoute) {
		r.Spec.ParentRefs = append(r.Spec.ParentRefs, parentRef(ns, name, section))
	}
}

func parentRef(ns, name, section string) gatewayv1.ParentReference {
	p := gatewayv1.ParentReference{Name: gatewayv1.ObjectName(name)}
	if ns != "" {
		p.Namespace = ptr.To(gatewayv1.Namespace(ns))
	}
	if section != "" {
		p.SectionName = ptr.To(gatewayv1.SectionName(section))
	}
	return p
}

// Hostnames adds route hostnames.
func Hostnames(h ...string) RouteOpt {
	return func(r *gatewayv1.HTTPRoute) {
		for _, x := range h {
			r.Spec.Hostnames = append(r.Spec.Hostnames, gatewayv1.Hostname(x))
		}
	}
}

// CreatedAt sets a route's creation time.
func CreatedAt(t time.Time) RouteOpt {
	return func(r *gatewayv1.HTTPRoute) { r.CreationTimestamp = metav1.NewTime(t) }
}

// Rule adds a rule.
func Rule(matches []gatewayv1.HTTPRouteMatch, filters []gatewayv1.HTTPRouteFilter, backends ...gatewayv1.HTTPBackendRef) RouteOpt {
	return func(r *gatewayv1.HTTPRoute) {
		r.Spec.Rules = append(r.Spec.Rules, gatewayv1.HTTPRouteRule{Matches: matches, Filters: filters, BackendRefs: backends})
	}
}

// Backend is a backendRef to Service ns/name ("" ns: the route's) with a port and a weight.
func Backend(ns, name string, port int32, weight int32) gatewayv1.HTTPBackendRef {
	b := gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{
		Name: gatewayv1.ObjectName(name), Port: ptr.To(gatewayv1.PortNumber(port)),
	}, Weight: ptr.To(weight)}}
	if ns != "" {
		b.Namespace = ptr.To(gatewayv1.Namespace(ns))
	}
	return b
}

// PathPrefix is a PathPrefix match.
func PathPrefix(p string) gatewayv1.HTTPRouteMatch {
	return gatewayv1.HTTPRouteMatch{Path: &gatewayv1.HTTPPathMatch{Type: ptr.To(gatewayv1.PathMatchPathPrefix), Value: ptr.To(p)}}
}

// PathExact is an Exact path match.
func PathExact(p string) gatewayv1.HTTPRouteMatch {
	return gatewayv1.HTTPRouteMatch{Path: &gatewayv1.HTTPPathMatch{Type: ptr.To(gatewayv1.PathMatchExact), Value: ptr.To(p)}}
}

// GRPCRouteOpt changes a test GRPCRoute.
type GRPCRouteOpt func(*gatewayv1.GRPCRoute)

// GRPCRoute is a GRPCRoute at generation 2, created at Time.
func GRPCRoute(ns, name string, opts ...GRPCRouteOpt) *gatewayv1.GRPCRoute {
	r := &gatewayv1.GRPCRoute{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Generation: 2, CreationTimestamp: metav1.NewTime(Time)}}
	for _, o := range opts {
		o(r)
	}
	return r
}

// GRPCParent adds a parentRef to the Gateway ns/name, with an optional sectionName.
func GRPCParent(ns, name, section string) GRPCRouteOpt {
	return func(r *gatewayv1.GRPCRoute) {
		r.Spec.ParentRefs = append(r.Spec.ParentRefs, parentRef(ns, name, section))
	}
}

// GRPCHostnames adds route hostnames.
func GRPCHostnames(h ...string) GRPCRouteOpt {
	return func(r *gatewayv1.GRPCRoute) {
		for _, x := range h {
			r.Spec.Hostnames = append(r.Spec.Hostnames, gatewayv1.Hostname(x))
		}
	}
}

// GRPCCreatedAt sets a GRPCRoute's creation time.
func GRPCCreatedAt(t time.Time) GRPCRouteOpt {
	return func(r *gatewayv1.GRPCRoute) { r.CreationTimestamp = metav1.NewTime(t) }
}

// GRPCRule adds a rule.
func GRPCRule(matches []gatewayv1.GRPCRouteMatch, filters []gatewayv1.GRPCRouteFilter, backends ...gatewayv1.GRPCBackendRef) GRPCRouteOpt {
	return func(r *gatewayv1.GRPCRoute) {
		r.Spec.Rules = append(r.Spec.Rules, gatewayv1.GRPCRouteRule{Matches: matches, Filters: filters, BackendRefs: backends})
	}
}

// GRPCBackend is a backendRef to Service ns/name ("" ns: the route's) with a port and a weight.
func GRPCBackend(ns, name string, port int32, weight int32) gatewayv1.GRPCBackendRef {
	return gatewayv1.GRPCBackendRef{BackendRef: Backend(ns, name, port, weight).BackendRef}
}

// GRPCMethod is a method match of the given type ("" for the default, Exact); an empty
// service or method is left out.
func GRPCMethod(t gatewayv1.GRPCMethodMatchType, service, method string) gatewayv1.GRPCRouteMatch {
	mm := &gatewayv1.GRPCMethodMatch{}
	if t != "" {
		mm.Type = ptr.To(t)
	}
	if service != "" {
		mm.Service = ptr.To(service)
	}
	if method != "" {
		mm.Method = ptr.To(method)
	}
	return gatewayv1.GRPCRouteMatch{Method: mm}
}

// Service returns a Service with one port and an EndpointSlice with the given ready
// addresses serving targetPort.
func Service(ns, name string, port, targetPort int32, addrs ...string) (*corev1.Service, *discoveryv1.EndpointSlice) {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: port, Protocol: corev1.ProtocolTCP}}},
	}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: name + "-abc", Labels: map[string]string{discoveryv1.LabelServiceName: name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To(targetPort), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	for _, a := range addrs {
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{Addresses: []string{a}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}})
	}
	return svc, slice
}

// Snapshot builds a snapshot from loose objects.
func Snapshot(gw *gatewayv1.Gateway, objs ...any) *translate.Snapshot {
	s := &translate.Snapshot{
		Class: Class(), Gateway: gw,
		Services:       map[types.NamespacedName]*corev1.Service{},
		EndpointSlices: map[types.NamespacedName][]*discoveryv1.EndpointSlice{},
		Secrets:        map[types.NamespacedName]*corev1.Secret{},
		Namespaces:     map[string]*corev1.Namespace{},
		ConfigMaps:     map[types.NamespacedName]*corev1.ConfigMap{},
	}
	for _, o := range objs {
		switch v := o.(type) {
		case *gatewayv1.HTTPRoute:
			s.HTTPRoutes = append(s.HTTPRoutes, v)
		case *gatewayv1.GRPCRoute:
			s.GRPCRoutes = append(s.GRPCRoutes, v)
		case *gatewayv1.TLSRoute:
			s.TLSRoutes = append(s.TLSRoutes, v)
		case *gatewayv1.TCPRoute:
			s.TCPRoutes = append(s.TCPRoutes, v)
		case *gatewayv1.UDPRoute:
			s.UDPRoutes = append(s.UDPRoutes, v)
		case *corev1.Service:
			s.Services[types.NamespacedName{Namespace: v.Namespace, Name: v.Name}] = v
		case *discoveryv1.EndpointSlice:
			key := types.NamespacedName{Namespace: v.Namespace, Name: v.Labels[discoveryv1.LabelServiceName]}
			s.EndpointSlices[key] = append(s.EndpointSlices[key], v)
		case *corev1.Secret:
			s.Secrets[types.NamespacedName{Namespace: v.Namespace, Name: v.Name}] = v
		case *corev1.Namespace:
			s.Namespaces[v.Name] = v
		case *gatewayv1.ReferenceGrant:
			s.ReferenceGrants = append(s.ReferenceGrants, v)
		case *gatewayv1.BackendTLSPolicy:
			s.BackendTLSPolicies = append(s.BackendTLSPolicies, v)
		case *corev1.ConfigMap:
			s.ConfigMaps[types.NamespacedName{Namespace: v.Namespace, Name: v.Name}] = v
		default:
			panic("unknown object")
		}
	}
	return s
}

// TLSSecret returns a kubernetes.io/tls Secret with a fresh self-signed certificate for hosts.
func TLSSecret(t testing.TB, ns, name string, hosts ...string) *corev1.Secret {
	t.Helper()
	return SelfSignedSecret(t, ns, name, &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: hosts[0]}, DNSNames: hosts,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	})
}

// SelfSignedSecret returns a kubernetes.io/tls Secret with a fresh key and a certificate
// made from tmpl.
func SelfSignedSecret(t testing.TB, ns, name string, tmpl *x509.Certificate) *corev1.Secret {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Type:       corev1.SecretTypeTLS,
		Data: map[string][]byte{
			corev1.TLSCertKey:       pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			corev1.TLSPrivateKeyKey: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		},
	}
}

// RenderOptions are render options for tests: a loopback admin and the default health port.
func RenderOptions() render.Options {
	return render.Options{Admin: &kengine.Admin{Listen: "127.0.0.1:2019"}, HealthPort: 19080}
}

// NN is a NamespacedName.
func NN(ns, name string) types.NamespacedName { return types.NamespacedName{Namespace: ns, Name: name} }

// JSONIndent indents JSON into dst with a trailing newline.
func JSONIndent(dst *bytes.Buffer, data []byte) error {
	if err := json.Indent(dst, data, "", "  "); err != nil {
		return err
	}
	dst.WriteByte('\n')
	return nil
}
