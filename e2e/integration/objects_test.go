package integration

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/translate"
)

// The Gateway lives in gatewayNamespace; routes and Services in appNamespace, which every
// listener admits.
const (
	gatewayNamespace = "infra"
	gatewayName      = "gw"
	appNamespace     = "apps"
	controllerName   = "khulnasoft.com/kengine-gateway"
	servicePort      = 80
)

// routeEpoch is the creation time of routes that do not set one.
var routeEpoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func gateway(listeners ...gatewayv1.Listener) *gatewayv1.Gateway {
	return &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: gatewayNamespace, Name: gatewayName, Generation: 1},
		Spec:       gatewayv1.GatewaySpec{GatewayClassName: "kengine", Listeners: listeners},
	}
}

func httpListener(name string, port int, hostname string) gatewayv1.Listener {
	l := gatewayv1.Listener{
		Name:     gatewayv1.SectionName(name),
		Protocol: gatewayv1.HTTPProtocolType,
		Port:     gatewayv1.PortNumber(port),
		AllowedRoutes: &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{
			From: ptr.To(gatewayv1.NamespacesFromAll),
		}},
	}
	if hostname != "" {
		l.Hostname = ptr.To(gatewayv1.Hostname(hostname))
	}
	return l
}

// httpsListener terminates TLS with the kubernetes.io/tls Secret secretName of the Gateway's
// namespace.
func httpsListener(name string, port int, hostname, secretName string) gatewayv1.Listener {
	l := httpListener(name, port, hostname)
	l.Protocol = gatewayv1.HTTPSProtocolType
	l.TLS = &gatewayv1.ListenerTLSConfig{
		Mode:            ptr.To(gatewayv1.TLSModeTerminate),
		CertificateRefs: []gatewayv1.SecretObjectReference{{Name: gatewayv1.ObjectName(secretName)}},
	}
	return l
}

type routeOption func(*gatewayv1.HTTPRoute)

// route returns an HTTPRoute in appNamespace attached to the whole Gateway unless onListener
// names a listener.
func route(name string, opts ...routeOption) *gatewayv1.HTTPRoute {
	r := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{
		Namespace: appNamespace, Name: name, Generation: 1, CreationTimestamp: metav1.NewTime(routeEpoch),
	}}
	r.Spec.ParentRefs = []gatewayv1.ParentReference{{
		Namespace: ptr.To(gatewayv1.Namespace(gatewayNamespace)), Name: gatewayName,
	}}
	for _, o := range opts {
		o(r)
	}
	return r
}

func onListener(section string) routeOption {
	return func(r *gatewayv1.HTTPRoute) {
		r.Spec.ParentRefs[0].SectionName = ptr.To(gatewayv1.SectionName(section))
	}
}

func withHostnames(hosts ...string) routeOption {
	return func(r *gatewayv1.HTTPRoute) {
		for _, h := range hosts {
			r.Spec.Hostnames = append(r.Spec.Hostnames, gatewayv1.Hostname(h))
		}
	}
}

// createdAfter sets the creation time to d after routeEpoch; precedence ties go to the oldest.
func createdAfter(d time.Duration) routeOption {
	return func(r *gatewayv1.HTTPRoute) { r.CreationTimestamp = metav1.NewTime(routeEpoch.Add(d)) }
}

func withRules(rules ...gatewayv1.HTTPRouteRule) routeOption {
	return func(r *gatewayv1.HTTPRoute) { r.Spec.Rules = append(r.Spec.Rules, rules...) }
}

type ruleOption func(*gatewayv1.HTTPRouteRule)

func rule(opts ...ruleOption) gatewayv1.HTTPRouteRule {
	var r gatewayv1.HTTPRouteRule
	for _, o := range opts {
		o(&r)
	}
	return r
}

func matching(ms ...gatewayv1.HTTPRouteMatch) ruleOption {
	return func(r *gatewayv1.HTTPRouteRule) { r.Matches = append(r.Matches, ms...) }
}

func filtered(fs ...gatewayv1.HTTPRouteFilter) ruleOption {
	return func(r *gatewayv1.HTTPRouteRule) { r.Filters = append(r.Filters, fs...) }
}

// to sends the rule's traffic to a Service of appNamespace on servicePort, with weight 1.
func to(service string) ruleOption { return toWeighted(service, 1) }

func toWeighted(service string, weight int32) ruleOption {
	return func(r *gatewayv1.HTTPRouteRule) {
		r.BackendRefs = append(r.BackendRefs, gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{
			BackendObjectReference: gatewayv1.BackendObjectReference{
				Name: gatewayv1.ObjectName(service), Port: ptr.To(gatewayv1.PortNumber(servicePort)),
			},
			Weight: ptr.To(weight),
		}})
	}
}

type matchOption func(*gatewayv1.HTTPRouteMatch)

func match(opts ...matchOption) gatewayv1.HTTPRouteMatch {
	var m gatewayv1.HTTPRouteMatch
	for _, o := range opts {
		o(&m)
	}
	return m
}

func pathMatch(t gatewayv1.PathMatchType, value string) matchOption {
	return func(m *gatewayv1.HTTPRouteMatch) {
		m.Path = &gatewayv1.HTTPPathMatch{Type: ptr.To(t), Value: ptr.To(value)}
	}
}

func exact(p string) matchOption  { return pathMatch(gatewayv1.PathMatchExact, p) }
func prefix(p string) matchOption { return pathMatch(gatewayv1.PathMatchPathPrefix, p) }
func regex(p string) matchOption  { return pathMatch(gatewayv1.PathMatchRegularExpression, p) }

func header(name, value string) matchOption {
	return func(m *gatewayv1.HTTPRouteMatch) {
		m.Headers = append(m.Headers, gatewayv1.HTTPHeaderMatch{
			Type: ptr.To(gatewayv1.HeaderMatchExact), Name: gatewayv1.HTTPHeaderName(name), Value: value,
		})
	}
}

func headerRegex(name, pattern string) matchOption {
	return func(m *gatewayv1.HTTPRouteMatch) {
		m.Headers = append(m.Headers, gatewayv1.HTTPHeaderMatch{
			Type: ptr.To(gatewayv1.HeaderMatchRegularExpression), Name: gatewayv1.HTTPHeaderName(name), Value: pattern,
		})
	}
}

func query(name, value string) matchOption {
	return func(m *gatewayv1.HTTPRouteMatch) {
		m.QueryParams = append(m.QueryParams, gatewayv1.HTTPQueryParamMatch{
			Type: ptr.To(gatewayv1.QueryParamMatchExact), Name: gatewayv1.HTTPHeaderName(name), Value: value,
		})
	}
}

func method(m gatewayv1.HTTPMethod) matchOption {
	return func(hm *gatewayv1.HTTPRouteMatch) { hm.Method = ptr.To(m) }
}

func requestHeaderModifier(f gatewayv1.HTTPHeaderFilter) gatewayv1.HTTPRouteFilter {
	return gatewayv1.HTTPRouteFilter{Type: gatewayv1.HTTPRouteFilterRequestHeaderModifier, RequestHeaderModifier: &f}
}

func responseHeaderModifier(f gatewayv1.HTTPHeaderFilter) gatewayv1.HTTPRouteFilter {
	return gatewayv1.HTTPRouteFilter{Type: gatewayv1.HTTPRouteFilterResponseHeaderModifier, ResponseHeaderModifier: &f}
}

func requestRedirect(f gatewayv1.HTTPRequestRedirectFilter) gatewayv1.HTTPRouteFilter {
	return gatewayv1.HTTPRouteFilter{Type: gatewayv1.HTTPRouteFilterRequestRedirect, RequestRedirect: &f}
}

func urlRewrite(f gatewayv1.HTTPURLRewriteFilter) gatewayv1.HTTPRouteFilter {
	return gatewayv1.HTTPRouteFilter{Type: gatewayv1.HTTPRouteFilterURLRewrite, URLRewrite: &f}
}

func replaceFullPath(p string) *gatewayv1.HTTPPathModifier {
	return &gatewayv1.HTTPPathModifier{Type: gatewayv1.FullPathHTTPPathModifier, ReplaceFullPath: ptr.To(p)}
}

func replacePrefixMatch(p string) *gatewayv1.HTTPPathModifier {
	return &gatewayv1.HTTPPathModifier{Type: gatewayv1.PrefixMatchHTTPPathModifier, ReplacePrefixMatch: ptr.To(p)}
}

// serviceObjects is a Service with its EndpointSlices.
type serviceObjects struct {
	service *corev1.Service
	slices  []*discoveryv1.EndpointSlice
}

// service returns a Service of appNamespace whose port servicePort is served by the given
// backends. Every backend listens on its own loopback port and EndpointSlice ports apply to a
// whole slice, so each backend gets a slice of its own, as kube-controller-manager would make
// for pods whose named target port resolves to different numbers. No backend: no endpoints.
func service(name string, backends ...*backend) serviceObjects {
	objs := serviceObjects{service: &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: appNamespace, Name: name},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{
			Name: "http", Port: servicePort, Protocol: corev1.ProtocolTCP,
		}}},
	}}
	for i, b := range backends {
		objs.slices = append(objs.slices, &discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{
				Namespace: appNamespace, Name: fmt.Sprintf("%s-%d", name, i),
				Labels: map[string]string{discoveryv1.LabelServiceName: name},
			},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports: []discoveryv1.EndpointPort{{
				Name: ptr.To("http"), Port: ptr.To(int32(b.port)), Protocol: ptr.To(corev1.ProtocolTCP),
			}},
			Endpoints: []discoveryv1.Endpoint{{
				Addresses:  []string{"127.0.0.1"},
				Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
			}},
		})
	}
	return objs
}

// snapshot gathers a Gateway and loose objects (routes of every kind, serviceObjects, *Secret)
// the way the controller reads them from its caches.
func snapshot(gw *gatewayv1.Gateway, objs ...any) *translate.Snapshot {
	s := &translate.Snapshot{
		Class: &gatewayv1.GatewayClass{
			ObjectMeta: metav1.ObjectMeta{Name: "kengine", Generation: 1},
			Spec:       gatewayv1.GatewayClassSpec{ControllerName: controllerName},
		},
		Gateway:        gw,
		Services:       map[types.NamespacedName]*corev1.Service{},
		EndpointSlices: map[types.NamespacedName][]*discoveryv1.EndpointSlice{},
		Secrets:        map[types.NamespacedName]*corev1.Secret{},
		Namespaces:     map[string]*corev1.Namespace{},
	}
	for _, ns := range []string{gatewayNamespace, appNamespace} {
		s.Namespaces[ns] = &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
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
		case *gatewayv1.ListenerSet:
			s.ListenerSets = append(s.ListenerSets, v)
		case serviceObjects:
			nn := types.NamespacedName{Namespace: v.service.Namespace, Name: v.service.Name}
			s.Services[nn] = v.service
			s.EndpointSlices[nn] = append(s.EndpointSlices[nn], v.slices...)
		case *corev1.Secret:
			s.Secrets[types.NamespacedName{Namespace: v.Namespace, Name: v.Name}] = v
		default:
			panic(fmt.Sprintf("snapshot: unexpected object %T", o))
		}
	}
	return s
}

// toFiltered is to with backendRef-level filters.
func toFiltered(service string, filters ...gatewayv1.HTTPRouteFilter) ruleOption {
	return func(r *gatewayv1.HTTPRouteRule) {
		to(service)(r)
		r.BackendRefs[len(r.BackendRefs)-1].Filters = filters
	}
}
