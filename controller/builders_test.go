package controller

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
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/kengine"
)

const testController = "khulnasoft.com/kengine-gateway"

var testTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func testClass() *gatewayv1.GatewayClass {
	return &gatewayv1.GatewayClass{
		ObjectMeta: metav1.ObjectMeta{Name: "kengine", Generation: 1},
		Spec:       gatewayv1.GatewayClassSpec{ControllerName: testController},
	}
}

type gatewayOpt func(*gatewayv1.Gateway)

func testGateway(opts ...gatewayOpt) *gatewayv1.Gateway {
	gw := &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "gw", Generation: 3},
		Spec:       gatewayv1.GatewaySpec{GatewayClassName: "kengine"},
	}
	for _, o := range opts {
		o(gw)
	}
	return gw
}

func withListener(name string, proto gatewayv1.ProtocolType, port int32, hostname string, mods ...func(*gatewayv1.Listener)) gatewayOpt {
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

func fromAll(l *gatewayv1.Listener) {
	l.AllowedRoutes = &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{From: ptr.To(gatewayv1.NamespacesFromAll)}}
}

func withCert(ns, name string) func(*gatewayv1.Listener) {
	return func(l *gatewayv1.Listener) {
		ref := gatewayv1.SecretObjectReference{Name: gatewayv1.ObjectName(name)}
		if ns != "" {
			ref.Namespace = ptr.To(gatewayv1.Namespace(ns))
		}
		l.TLS = &gatewayv1.ListenerTLSConfig{Mode: ptr.To(gatewayv1.TLSModeTerminate), CertificateRefs: []gatewayv1.SecretObjectReference{ref}}
	}
}

type routeOpt func(*gatewayv1.HTTPRoute)

func testRoute(ns, name string, opts ...routeOpt) *gatewayv1.HTTPRoute {
	r := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Generation: 2, CreationTimestamp: metav1.NewTime(testTime)}}
	for _, o := range opts {
		o(r)
	}
	return r
}

func parent(ns, name, section string) routeOpt {
	return func(r *gatewayv1.HTTPRoute) {
		p := gatewayv1.ParentReference{Name: gatewayv1.ObjectName(name)}
		if ns != "" {
			p.Namespace = ptr.To(gatewayv1.Namespace(ns))
		}
		if section != "" {
			p.SectionName = ptr.To(gatewayv1.SectionName(section))
		}
		r.Spec.ParentRefs = append(r.Spec.ParentRefs, p)
	}
}

func hostnames(h ...string) routeOpt {
	return func(r *gatewayv1.HTTPRoute) {
		for _, x := range h {
			r.Spec.Hostnames = append(r.Spec.Hostnames, gatewayv1.Hostname(x))
		}
	}
}

func createdAt(t time.Time) routeOpt {
	return func(r *gatewayv1.HTTPRoute) { r.CreationTimestamp = metav1.NewTime(t) }
}

func rule(matches []gatewayv1.HTTPRouteMatch, filters []gatewayv1.HTTPRouteFilter, backends ...gatewayv1.HTTPBackendRef) routeOpt {
	return func(r *gatewayv1.HTTPRoute) {
		r.Spec.Rules = append(r.Spec.Rules, gatewayv1.HTTPRouteRule{Matches: matches, Filters: filters, BackendRefs: backends})
	}
}

func backend(ns, name string, port int32, weight int32) gatewayv1.HTTPBackendRef {
	b := gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{
		Name: gatewayv1.ObjectName(name), Port: ptr.To(gatewayv1.PortNumber(port)),
	}, Weight: ptr.To(weight)}}
	if ns != "" {
		b.Namespace = ptr.To(gatewayv1.Namespace(ns))
	}
	return b
}

func pathPrefix(p string) gatewayv1.HTTPRouteMatch {
	return gatewayv1.HTTPRouteMatch{Path: &gatewayv1.HTTPPathMatch{Type: ptr.To(gatewayv1.PathMatchPathPrefix), Value: ptr.To(p)}}
}

func pathExact(p string) gatewayv1.HTTPRouteMatch {
	return gatewayv1.HTTPRouteMatch{Path: &gatewayv1.HTTPPathMatch{Type: ptr.To(gatewayv1.PathMatchExact), Value: ptr.To(p)}}
}

// testService returns a Service with one port and an EndpointSlice with the given ready
// addresses serving targetPort.
func testService(ns, name string, port, targetPort int32, addrs ...string) (*corev1.Service, *discoveryv1.EndpointSlice) {
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

// testSnapshot builds a snapshot from loose objects.
func testSnapshot(gw *gatewayv1.Gateway, objs ...any) *Snapshot {
	s := &Snapshot{
		Class: testClass(), Gateway: gw,
		Services:       map[types.NamespacedName]*corev1.Service{},
		EndpointSlices: map[types.NamespacedName][]*discoveryv1.EndpointSlice{},
		Secrets:        map[types.NamespacedName]*corev1.Secret{},
		Namespaces:     map[string]*corev1.Namespace{},
	}
	for _, o := range objs {
		switch v := o.(type) {
		case *gatewayv1.HTTPRoute:
			s.HTTPRoutes = append(s.HTTPRoutes, v)
		case *corev1.Service:
			s.Services[types.NamespacedName{Namespace: v.Namespace, Name: v.Name}] = v
		case *discoveryv1.EndpointSlice:
			nn := types.NamespacedName{Namespace: v.Namespace, Name: v.Labels[discoveryv1.LabelServiceName]}
			s.EndpointSlices[nn] = append(s.EndpointSlices[nn], v)
		case *corev1.Secret:
			s.Secrets[types.NamespacedName{Namespace: v.Namespace, Name: v.Name}] = v
		case *corev1.Namespace:
			s.Namespaces[v.Name] = v
		case *gatewayv1.ReferenceGrant:
			s.ReferenceGrants = append(s.ReferenceGrants, v)
		default:
			panic("unknown object")
		}
	}
	return s
}

// tlsSecret returns a kubernetes.io/tls Secret with a fresh self-signed certificate for hosts.
func tlsSecret(t testing.TB, ns, name string, hosts ...string) *corev1.Secret {
	t.Helper()
	return selfSignedSecret(t, ns, name, &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: hosts[0]}, DNSNames: hosts,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	})
}

// selfSignedSecret returns a kubernetes.io/tls Secret with a fresh key and a certificate
// made from tmpl.
func selfSignedSecret(t testing.TB, ns, name string, tmpl *x509.Certificate) *corev1.Secret {
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

func testRenderOptions() RenderOptions {
	return RenderOptions{Admin: &kengine.Admin{Listen: "127.0.0.1:2019"}, HealthPort: 19080}
}

func nn(ns, name string) types.NamespacedName { return types.NamespacedName{Namespace: ns, Name: name} }

func itoa(i int) string { return strconv.Itoa(i) }

func jsonIndent(dst *bytes.Buffer, data []byte) error {
	if err := json.Indent(dst, data, "", "  "); err != nil {
		return err
	}
	dst.WriteByte('\n')
	return nil
}
