package tests

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// TestHostileTenant plays, as a route author in a second namespace, every attack of the tenant
// isolation issue against a Gateway shared with a victim tenant: reaching the proxy's admin or
// the metadata address through a backend, and values meant to make Kengine refuse the
// Gateway's config or wedge its version. Each attack must be refused in its own status, and
// the victim's routes must keep being programmed and served.
func TestHostileTenant(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	victim := newNamespace(t)
	attacker := newNamespace(t)
	createEcho(t, victim, "victim", 1)
	createEcho(t, attacker, "attacker", 1)
	createGateway(t, victim, "shared", func(g *gatewayv1.Gateway) {
		g.Spec.Listeners = []gatewayv1.Listener{{Name: "http", Protocol: gatewayv1.HTTPProtocolType, Port: 80,
			AllowedRoutes: &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{From: ptr.To(gatewayv1.NamespacesFromAll)}}}}
	})
	sharedParent := func(r *gatewayv1.HTTPRoute) *gatewayv1.HTTPRoute {
		r.Spec.ParentRefs[0].Namespace = ptr.To(gatewayv1.Namespace(victim))
		return r
	}
	createRoute(t, newRoute(victim, "victim", "shared", []string{"victim.example"}, "victim"))
	_, addr := waitProgrammed(t, victim, "shared")
	addr += ":80"
	expectBackend(t, addr, "victim.example", "/", victim, "victim")
	pods := waitReadyPods(t, victim, managedPods("shared"), 1)
	proxyIP := pods[0].Status.PodIP

	// Backends that would reach the proxy's admin, the proxy itself or the metadata address.
	for name, target := range map[string]string{"admin-by-name": "localhost", "metadata-by-name": "169.254.169.254"} {
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: attacker, Name: name},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: target, Ports: []corev1.ServicePort{{Name: "http", Port: 2019}}}}
		if _, err := kube.CoreV1().Services(attacker).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// The API server itself refuses loopback and link-local EndpointSlice addresses; the proxy's
	// own pod address it cannot know about.
	selectorless(t, attacker, "proxy-by-slice", proxyIP, 2019, 2021)
	for _, name := range []string{"admin-by-name", "metadata-by-name", "proxy-by-slice"} {
		r := sharedParent(newRoute(attacker, name, "shared", []string{name + ".attacker.example"}, name))
		r.Spec.Rules[0].BackendRefs[0].Port = ptr.To(gatewayv1.PortNumber(2019))
		createRoute(t, r)
	}

	// Values Kengine would refuse, or read with another meaning, or that would wedge the
	// version stamp. Each goes in its own route next to a valid rule of the same route.
	regexPath := func(v string) gatewayv1.HTTPRouteMatch {
		return gatewayv1.HTTPRouteMatch{Path: &gatewayv1.HTTPPathMatch{Type: ptr.To(gatewayv1.PathMatchRegularExpression), Value: ptr.To(v)}}
	}
	badRules := map[string]gatewayv1.HTTPRouteRule{
		"unterminated-quote": {Matches: []gatewayv1.HTTPRouteMatch{regexPath(`/q\Q`)}},
		"costly-regex":       {Matches: []gatewayv1.HTTPRouteMatch{regexPath(`((((a{10}){10}){10}){10})`)}},
		"remove-every-header": {Filters: []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterRequestHeaderModifier,
			RequestHeaderModifier: &gatewayv1.HTTPHeaderFilter{Remove: []string{"*"}}}}},
		// Kengine cannot cancel an attempt in flight when a request timeout expires.
		"timeout-with-retry": {Timeouts: &gatewayv1.HTTPRouteTimeouts{Request: ptr.To(gatewayv1.Duration("1s"))},
			Retry: &gatewayv1.HTTPRouteRetry{Attempts: ptr.To(2)}},
		// One request must not become a thousand, nor hold a connection for hours.
		"retry-storm":  {Retry: &gatewayv1.HTTPRouteRetry{Attempts: ptr.To(1000)}},
		"slow-retries": {Retry: &gatewayv1.HTTPRouteRetry{Attempts: ptr.To(10), Backoff: ptr.To(gatewayv1.Duration("1h"))}},
		// A wildcard a browser would read as a header name on credentialed requests.
		"cors-wildcard-credentials": {Filters: []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterCORS, CORS: &gatewayv1.HTTPCORSFilter{
			AllowOrigins: []gatewayv1.CORSOrigin{"https://app.attacker.example"}, AllowCredentials: ptr.To(true),
			ExposeHeaders: []gatewayv1.HTTPHeaderName{"*"}}}}},
	}
	for name, bad := range badRules {
		r := sharedParent(newRoute(attacker, name, "shared", []string{name + ".attacker.example"}, "attacker"))
		bad.BackendRefs = r.Spec.Rules[0].BackendRefs
		r.Spec.Rules[0].Matches = []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Type: ptr.To(gatewayv1.PathMatchPathPrefix), Value: ptr.To("/good")}}}
		r.Spec.Rules = append(r.Spec.Rules, bad)
		createRoute(t, r)
	}
	punycode := sharedParent(newRoute(attacker, "punycode", "shared", []string{"xn--0.attacker.example"}, "attacker"))
	createRoute(t, punycode)
	// A header match on the old version placeholder, and placeholders that would read the
	// pod's environment: accepted, and meaning exactly what they say.
	literal := sharedParent(newRoute(attacker, "literal", "shared", []string{"literal.attacker.example"}, "attacker"))
	literal.Spec.Rules[0].Matches = []gatewayv1.HTTPRouteMatch{{Headers: []gatewayv1.HTTPHeaderMatch{{Name: "X-Zeros", Value: strings.Repeat("0", 64)}}}}
	literal.Spec.Rules[0].Filters = []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterRequestHeaderModifier,
		RequestHeaderModifier: &gatewayv1.HTTPHeaderFilter{Set: []gatewayv1.HTTPHeader{{Name: "X-Env", Value: "{env.HOME}{file./etc/passwd}"}}}}}
	createRoute(t, literal)

	// A GRPCRoute whose method expression is too costly to run on every call, next to a
	// valid rule, and a header filter holding placeholders: the costly rule is dropped, the
	// placeholders stay literal.
	grpcAttack := &gatewayv1.GRPCRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: attacker, Name: "grpc-costly"},
		Spec: gatewayv1.GRPCRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "shared", Namespace: ptr.To(gatewayv1.Namespace(victim))}}},
			Hostnames:       []gatewayv1.Hostname{"grpc.attacker.example"},
			Rules: []gatewayv1.GRPCRouteRule{
				{Matches: []gatewayv1.GRPCRouteMatch{{Method: &gatewayv1.GRPCMethodMatch{Service: ptr.To("good.v1.Good")}}},
					Filters: []gatewayv1.GRPCRouteFilter{{Type: gatewayv1.GRPCRouteFilterRequestHeaderModifier,
						RequestHeaderModifier: &gatewayv1.HTTPHeaderFilter{Set: []gatewayv1.HTTPHeader{{Name: "X-Env", Value: "{env.HOME}"}}}}},
					BackendRefs: []gatewayv1.GRPCBackendRef{{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{
						Name: "attacker", Port: ptr.To(gatewayv1.PortNumber(8080))}}}}},
				{Matches: []gatewayv1.GRPCRouteMatch{{Method: &gatewayv1.GRPCMethodMatch{Type: ptr.To(gatewayv1.GRPCMethodMatchRegularExpression),
					Method: ptr.To("((((a{10}){10}){10}){10})")}}},
					BackendRefs: []gatewayv1.GRPCBackendRef{{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{
						Name: "attacker", Port: ptr.To(gatewayv1.PortNumber(8080))}}}}},
			},
		},
	}
	if _, err := gwc.GatewayV1().GRPCRoutes(attacker).Create(ctx, grpcAttack, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating GRPCRoute: %v", err)
	}

	// BackendTLSPolicies on the attacker's own Services that Kengine cannot honour: a CA bundle
	// too big to parse on every pod, and subject alternative names it cannot check. Their
	// backends answer 500 and are never dialled, with or without TLS.
	tlsAttacks := map[string]func(*gatewayv1.BackendTLSPolicy){
		"huge-ca": func(p *gatewayv1.BackendTLSPolicy) {
			p.Spec.Validation.CACertificateRefs = []gatewayv1.LocalObjectReference{{Kind: "ConfigMap", Name: "huge-ca"}}
		},
		"san": func(p *gatewayv1.BackendTLSPolicy) {
			p.Spec.Validation.WellKnownCACertificates = ptr.To(gatewayv1.WellKnownCACertificatesSystem)
			p.Spec.Validation.SubjectAltNames = []gatewayv1.SubjectAltName{{Type: gatewayv1.URISubjectAltNameType, URI: "spiffe://attacker/x"}}
		},
	}
	hugeCA := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: attacker, Name: "huge-ca"},
		Data: map[string]string{"ca.crt": "-----BEGIN CERTIFICATE-----\n" + strings.Repeat("QUFB\n", 80_000) + "-----END CERTIFICATE-----\n"}}
	if _, err := kube.CoreV1().ConfigMaps(attacker).Create(ctx, hugeCA, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for name, attack := range tlsAttacks {
		target := "tls-" + name
		selectorless(t, attacker, target, "10.244.255.250", 8080, 8443)
		p := &gatewayv1.BackendTLSPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: attacker, Name: name}}
		p.Spec.TargetRefs = []gatewayv1.LocalPolicyTargetReferenceWithSectionName{{LocalPolicyTargetReference: gatewayv1.LocalPolicyTargetReference{Kind: "Service", Name: gatewayv1.ObjectName(target)}}}
		p.Spec.Validation.Hostname = "backend.attacker.example"
		attack(p)
		if _, err := gwc.GatewayV1().BackendTLSPolicies(attacker).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating BackendTLSPolicy %s: %v", name, err)
		}
		createRoute(t, sharedParent(newRoute(attacker, target, "shared", []string{target + ".attacker.example"}, target)))
	}

	// Every attack is refused in its own status.
	for name, reason := range map[string]gatewayv1.PolicyConditionReason{"huge-ca": gatewayv1.BackendTLSPolicyReasonNoValidCACertificate, "san": gatewayv1.PolicyReasonInvalid} {
		eventually(t, waitLong, fmt.Sprintf("BackendTLSPolicy %s Accepted=False (%s) for the shared Gateway", name, reason), func() error {
			p, err := gwc.GatewayV1().BackendTLSPolicies(attacker).Get(context.Background(), name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if len(p.Status.Ancestors) != 1 || p.Status.Ancestors[0].AncestorRef.Name != "shared" {
				return fmt.Errorf("ancestors %+v", p.Status.Ancestors)
			}
			c := meta.FindStatusCondition(p.Status.Ancestors[0].Conditions, string(gatewayv1.PolicyConditionAccepted))
			if c == nil || c.Status != metav1.ConditionFalse || c.Reason != string(reason) {
				return fmt.Errorf("%s", conditionString(c))
			}
			return nil
		})
		expectStatus(t, addr, "tls-"+name+".attacker.example", "/", http.StatusInternalServerError)
	}
	eventually(t, waitLong, "GRPCRoute grpc-costly PartiallyInvalid=True (UnsupportedValue)", func() error {
		r, err := gwc.GatewayV1().GRPCRoutes(attacker).Get(context.Background(), "grpc-costly", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(r.Status.Parents) != 1 {
			return fmt.Errorf("parents %+v", r.Status.Parents)
		}
		accepted := meta.FindStatusCondition(r.Status.Parents[0].Conditions, string(gatewayv1.RouteConditionAccepted))
		partial := meta.FindStatusCondition(r.Status.Parents[0].Conditions, string(gatewayv1.RouteConditionPartiallyInvalid))
		if accepted == nil || accepted.Status != metav1.ConditionTrue || partial == nil || partial.Status != metav1.ConditionTrue ||
			partial.Reason != string(gatewayv1.RouteReasonUnsupportedValue) || !strings.Contains(partial.Message, "rule 1") {
			return fmt.Errorf("Accepted %s, PartiallyInvalid %s", conditionString(accepted), conditionString(partial))
		}
		return nil
	})
	for _, name := range []string{"admin-by-name", "metadata-by-name", "proxy-by-slice"} {
		expectParentCondition(t, attacker, name, string(gatewayv1.RouteConditionResolvedRefs), metav1.ConditionFalse, string(gatewayv1.RouteReasonRefNotPermitted))
		expectStatus(t, addr, name+".attacker.example", "/config/", http.StatusInternalServerError)
	}
	for name := range badRules {
		expectParentCondition(t, attacker, name, string(gatewayv1.RouteConditionPartiallyInvalid), metav1.ConditionTrue, string(gatewayv1.RouteReasonUnsupportedValue))
		expectBackend(t, addr, name+".attacker.example", "/good", attacker, "attacker")
	}
	expectParentCondition(t, attacker, "punycode", string(gatewayv1.RouteConditionAccepted), metav1.ConditionFalse, string(gatewayv1.RouteReasonUnsupportedValue))
	expectParentCondition(t, attacker, "literal", string(gatewayv1.RouteConditionAccepted), metav1.ConditionTrue, string(gatewayv1.RouteReasonAccepted))
	eventually(t, waitLong, "the literal route answers with its header as written", func() error {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
		req.Host = "literal.attacker.example"
		req.Header.Set("X-Zeros", strings.Repeat("0", 64))
		resp, err := httpClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		r, err := readEcho(resp)
		if err != nil {
			return err
		}
		if got := r.echo.Headers["X-Env"]; len(got) != 1 || got[0] != "{env.HOME}{file./etc/passwd}" {
			return fmt.Errorf("X-Env arrived as %q", got)
		}
		return nil
	})

	// The victim keeps converging: a new route is served within seconds, and the Gateway
	// stays Programmed.
	start := time.Now()
	createRoute(t, newRoute(victim, "victim-new", "shared", []string{"new.victim.example"}, "victim"))
	expectBackend(t, addr, "new.victim.example", "/", victim, "victim")
	t.Logf("the victim's new route was served %s after it was created", time.Since(start).Round(time.Millisecond))
	if d := time.Since(start); d > waitShort {
		t.Errorf("the victim's new route took %s", d)
	}
	waitProgrammed(t, victim, "shared")

	// No retry storm: once converged, the pod is not reloaded over and over.
	before := len(configLoads(t, &pods[0]))
	time.Sleep(10 * time.Second)
	if n := len(configLoads(t, &pods[0])) - before; n > 2 {
		t.Errorf("%d config loads in 10 s of quiet: the controller keeps retrying", n)
	}
}

// selectorless creates a Service without a selector on port, and an EndpointSlice, written by
// hand as any namespace owner can, that sends it to ip:targetPort.
func selectorless(t *testing.T, ns, name, ip string, port, targetPort int32) {
	t.Helper()
	ctx := ctxFor(t)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: port}}}}
	if _, err := kube.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	family := discoveryv1.AddressTypeIPv4
	if net.ParseIP(ip).To4() == nil {
		family = discoveryv1.AddressTypeIPv6
	}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: name + "-hand", Labels: map[string]string{discoveryv1.LabelServiceName: name}},
		AddressType: family,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To(targetPort), Protocol: ptr.To(corev1.ProtocolTCP)}},
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
	}
	if _, err := kube.DiscoveryV1().EndpointSlices(ns).Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// expectParentCondition waits until the route's only parent entry has the condition.
func expectParentCondition(t *testing.T, ns, route, typ string, status metav1.ConditionStatus, reason string) {
	t.Helper()
	eventually(t, waitLong, fmt.Sprintf("HTTPRoute %s/%s %s=%s (%s)", ns, route, typ, status, reason), func() error {
		r, err := gwc.GatewayV1().HTTPRoutes(ns).Get(context.Background(), route, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(r.Status.Parents) != 1 {
			return fmt.Errorf("parents %+v", r.Status.Parents)
		}
		c := meta.FindStatusCondition(r.Status.Parents[0].Conditions, typ)
		if c == nil || c.Status != status || c.Reason != reason || c.ObservedGeneration != r.Generation {
			return fmt.Errorf("%s", conditionString(c))
		}
		return nil
	})
}
