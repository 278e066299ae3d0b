package main

import (
	"fmt"
	"strconv"
	"strings"
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

// The bench Gateway's shape, shared by the standalone figures (which render it here) and the
// environment figures (which create it in the cluster): one HTTP listener, route i with the
// hostname routeHost(i) sending everything to the Service serviceName(i), one Service per
// routesPerService routes.
const (
	benchNamespace   = "bench"
	benchGateway     = "bench"
	benchClass       = "kengine"
	controllerName   = "khulnasoft.com/kengine-gateway"
	routesPerService = 10
	servicePort      = 8080
	listenerPort     = 80
)

// benchPrefix names the bench Gateway's routes; the burst and the timed new routes have
// prefixes of their own.
const benchPrefix = "r"

// routeName is the name of the i-th route with a prefix.
func routeName(prefix string, i int) string { return fmt.Sprintf("%s-%05d", prefix, i) }

// routeHost is the hostname of the i-th route with a prefix; names sort in route order.
func routeHost(prefix string, i int) string { return fmt.Sprintf("%s-%05d.bench.example", prefix, i) }

// serviceName is the Service behind the i-th bench route.
func serviceName(i int) string { return fmt.Sprintf("svc-%04d", i/routesPerService) }

// servicesFor is how many Services n routes use.
func servicesFor(n int) int { return (n + routesPerService - 1) / routesPerService }

// gatewayLabel marks every route the suite creates with its Gateway, so a Gateway's routes
// can be deleted at once.
const gatewayLabel = "bench.kengine-gateway/gateway"

// benchRoute is the i-th route with a prefix in namespace ns, on the Gateway gateway (in ns).
func benchRoute(ns, gateway, prefix string, i int) *gatewayv1.HTTPRoute {
	return &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: routeName(prefix, i), Generation: 1, Labels: map[string]string{gatewayLabel: gateway}},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: gatewayv1.ObjectName(gateway)}}},
			Hostnames:       []gatewayv1.Hostname{gatewayv1.Hostname(routeHost(prefix, i))},
			Rules: []gatewayv1.HTTPRouteRule{{
				Matches: []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{
					Type: ptr.To(gatewayv1.PathMatchPathPrefix), Value: ptr.To("/"),
				}}},
				BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{
					BackendObjectReference: gatewayv1.BackendObjectReference{
						Name: gatewayv1.ObjectName(serviceName(i)), Port: ptr.To(gatewayv1.PortNumber(servicePort)),
					},
				}}},
			}},
		},
	}
}

// snapshotOptions says where the standalone snapshot's backends listen.
type snapshotOptions struct {
	// routes is how many bench routes the Gateway has.
	routes int
	// backendPort is where every endpoint listens on 127.0.0.1.
	backendPort int
}

// benchSnapshot is the bench Gateway with its routes, Services and EndpointSlices, as the
// controller reads them from its caches.
func benchSnapshot(o snapshotOptions) *translate.Snapshot {
	epoch := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := &translate.Snapshot{
		Class: &gatewayv1.GatewayClass{
			ObjectMeta: metav1.ObjectMeta{Name: benchClass, Generation: 1},
			Spec:       gatewayv1.GatewayClassSpec{ControllerName: controllerName},
		},
		Gateway: &gatewayv1.Gateway{
			ObjectMeta: metav1.ObjectMeta{Namespace: benchNamespace, Name: benchGateway, Generation: 1},
			Spec: gatewayv1.GatewaySpec{GatewayClassName: benchClass, Listeners: []gatewayv1.Listener{{
				Name: "http", Protocol: gatewayv1.HTTPProtocolType, Port: listenerPort,
			}}},
		},
		Services:       map[types.NamespacedName]*corev1.Service{},
		EndpointSlices: map[types.NamespacedName][]*discoveryv1.EndpointSlice{},
		Secrets:        map[types.NamespacedName]*corev1.Secret{},
		Namespaces:     map[string]*corev1.Namespace{benchNamespace: {ObjectMeta: metav1.ObjectMeta{Name: benchNamespace}}},
	}
	for i := range o.routes {
		r := benchRoute(benchNamespace, benchGateway, benchPrefix, i)
		r.CreationTimestamp = metav1.NewTime(epoch.Add(time.Duration(i) * time.Second))
		s.HTTPRoutes = append(s.HTTPRoutes, r)
	}
	for i := range servicesFor(o.routes) {
		name := serviceName(i * routesPerService)
		nn := types.NamespacedName{Namespace: benchNamespace, Name: name}
		s.Services[nn] = &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: benchNamespace, Name: name},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{
				Name: "http", Port: servicePort, Protocol: corev1.ProtocolTCP,
			}}},
		}
		s.EndpointSlices[nn] = []*discoveryv1.EndpointSlice{{
			ObjectMeta: metav1.ObjectMeta{
				Namespace: benchNamespace, Name: name + "-0",
				Labels: map[string]string{discoveryv1.LabelServiceName: name},
			},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports: []discoveryv1.EndpointPort{{
				Name: ptr.To("http"), Port: ptr.To(int32(o.backendPort)), Protocol: ptr.To(corev1.ProtocolTCP),
			}},
			Endpoints: []discoveryv1.Endpoint{{
				Addresses:  []string{"127.0.0.1"},
				Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
			}},
		}}
	}
	return s
}

// translateOptions are the controller's, except that the bench's backends run on the host's
// loopback.
var translateOptions = translate.Options{ControllerName: controllerName, AllowLoopbackBackends: true}

// standaloneRender holds what every standalone Kengine is programmed with.
type standaloneRender struct {
	// adminPort is the Admin API's port on every process.
	adminPort int
	// healthPort is the first of the health server's three ports.
	healthPort int
	// origins are the Host headers the Admin API accepts. Kengine accepts only localhost,
	// ::1 and 127.0.0.1 on a loopback listener unless told otherwise, and the fan-out's
	// processes listen on 127.0.2.N.
	origins []string
}

// renderOptions are the controller's render options for a standalone process: plain admin
// on the process's own address, listeners on its own address.
func (sr standaloneRender) renderOptions() render.Options {
	return render.Options{
		Admin:      &kengine.Admin{Listen: hostPlaceholder(sr.adminPort), Origins: sr.origins},
		ListenHost: "{env." + hostEnv + "}",
		HealthPort: sr.healthPort,
	}
}

func gatewayPort(p int) gatewayv1.PortNumber { return gatewayv1.PortNumber(p) }

func hostPlaceholder(port int) string {
	return "{env." + hostEnv + "}:" + strconv.Itoa(port)
}

// config translates and renders a snapshot exactly as a sync does, binds every server to the
// process's own address, and finalizes it. Every route must be accepted.
func (sr standaloneRender) config(s *translate.Snapshot) (data []byte, version string, err error) {
	tr := translate.Translate(s, translateOptions)
	for _, rs := range tr.Status.Routes {
		for _, p := range rs.Parents {
			for _, c := range p.Conditions {
				if c.Type == string(gatewayv1.RouteConditionAccepted) && c.Status != metav1.ConditionTrue {
					return nil, "", fmt.Errorf("route %s/%s not accepted: %s", rs.Route.GetNamespace(), rs.Route.GetName(), c.Message)
				}
			}
		}
	}
	cfg, err := render.Config(tr.Gateway, sr.renderOptions())
	if err != nil {
		return nil, "", fmt.Errorf("render: %w", err)
	}
	bindToHost(cfg)
	return kengine.Finalize(cfg)
}

// bindToHost makes every HTTP server listen on the process's own address: the health
// servers bind every interface (":port") or 127.0.0.1, which would collide between the
// processes of a fan-out.
func bindToHost(cfg *kengine.Config) {
	if cfg.Apps.HTTP == nil {
		return
	}
	for _, srv := range cfg.Apps.HTTP.Servers {
		for i, addr := range srv.Listen {
			if strings.HasPrefix(addr, "{env.") {
				continue
			}
			if j := strings.LastIndex(addr, ":"); j >= 0 {
				if port, err := strconv.Atoi(addr[j+1:]); err == nil {
					srv.Listen[i] = hostPlaceholder(port)
				}
			}
		}
	}
}
