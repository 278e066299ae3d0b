package integration

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/khulnasoft/gateway/controller/translate"
)

// Response headers of the gRPC test backends: who answered, the method they were called
// with, and (prefixed with "echo-") every "x-" request header they received.
const (
	grpcBackendHeader = "x-backend"
	grpcMethodHeader  = "x-method"
	grpcEchoPrefix    = "echo-"
)

// startGRPCBackend starts a gRPC server on 127.0.0.1 that answers every method of every
// service (a hand-registered handler for unknown services, with StringValue messages); it
// speaks HTTP/2 with prior knowledge (h2c), as Kengine speaks to GRPCRoute backends. It stops
// when the test ends.
func startGRPCBackend(t testing.TB, name string) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
		method, _ := grpc.MethodFromServerStream(stream)
		in := &wrapperspb.StringValue{}
		if err := stream.RecvMsg(in); err != nil {
			return err
		}
		out := metadata.Pairs(grpcBackendHeader, name, grpcMethodHeader, method)
		md, _ := metadata.FromIncomingContext(stream.Context())
		for k, vs := range md {
			if strings.HasPrefix(k, "x-") {
				out.Append(grpcEchoPrefix+k, vs...)
			}
		}
		if err := stream.SetHeader(out); err != nil {
			return err
		}
		return stream.SendMsg(wrapperspb.String(name + ": " + in.GetValue()))
	}))
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Stop()
		if err := <-served; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			t.Errorf("gRPC backend %s: %v", name, err)
		}
	})
	return &backend{name: name, port: ln.Addr().(*net.TCPAddr).Port}
}

// grpcClient is a connection to a Gateway listener on 127.0.0.1 with a fixed :authority.
type grpcClient struct {
	t    testing.TB
	conn *grpc.ClientConn
}

// dialGRPC connects to the listener on port as authority, over h2c, or over TLS when creds
// are given. The connection closes when the test ends.
func dialGRPC(t testing.TB, port int, authority string, creds credentials.TransportCredentials) *grpcClient {
	t.Helper()
	if creds == nil {
		creds = insecure.NewCredentials()
	}
	conn, err := grpc.NewClient(fmt.Sprintf("passthrough:///127.0.0.1:%d", port),
		grpc.WithTransportCredentials(creds), grpc.WithAuthority(authority))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &grpcClient{t: t, conn: conn}
}

// grpcReply is what a unary call got back.
type grpcReply struct {
	code   codes.Code
	msg    string // the status message, or the response's value
	header metadata.MD
}

// backend names the test backend that answered, or "" when the Gateway answered itself.
func (r grpcReply) backend() string {
	if v := r.header.Get(grpcBackendHeader); len(v) > 0 {
		return v[0]
	}
	return ""
}

func (r grpcReply) String() string {
	return fmt.Sprintf("code %s, backend %q, message %q", r.code, r.backend(), r.msg)
}

// call makes one unary call of method ("/service/method") with request metadata given as
// name/value pairs.
func (c *grpcClient) call(method string, kv ...string) grpcReply {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	ctx = metadata.NewOutgoingContext(ctx, metadata.Pairs(kv...))
	var header metadata.MD
	out := &wrapperspb.StringValue{}
	err := c.conn.Invoke(ctx, method, wrapperspb.String("ping"), out, grpc.Header(&header))
	if err != nil {
		s := status.Convert(err)
		return grpcReply{code: s.Code(), msg: s.Message(), header: header}
	}
	return grpcReply{code: codes.OK, msg: out.GetValue(), header: header}
}

// expectGRPC fails unless the reply has the code and came from the named backend; "" expects
// an answer the Gateway gave itself.
func expectGRPC(t testing.TB, rep grpcReply, code codes.Code, backend string) {
	t.Helper()
	if rep.code != code || rep.backend() != backend {
		t.Errorf("got %v; want code %s from backend %q", rep, code, backend)
	}
}

type grpcRouteOption func(*gatewayv1.GRPCRoute)

// grpcRoute returns a GRPCRoute in appNamespace attached to the whole Gateway.
func grpcRoute(name string, opts ...grpcRouteOption) *gatewayv1.GRPCRoute {
	r := &gatewayv1.GRPCRoute{ObjectMeta: metav1.ObjectMeta{
		Namespace: appNamespace, Name: name, Generation: 1, CreationTimestamp: metav1.NewTime(routeEpoch),
	}}
	r.Spec.ParentRefs = []gatewayv1.ParentReference{{Namespace: ptr.To(gatewayv1.Namespace(gatewayNamespace)), Name: gatewayName}}
	for _, o := range opts {
		o(r)
	}
	return r
}

func grpcHostnames(hosts ...string) grpcRouteOption {
	return func(r *gatewayv1.GRPCRoute) {
		for _, h := range hosts {
			r.Spec.Hostnames = append(r.Spec.Hostnames, gatewayv1.Hostname(h))
		}
	}
}

// grpcRule adds a rule with one match (nil: none) and weighted backends ("name=weight" or a
// plain name for weight 1), each a Service of appNamespace on servicePort.
func grpcRule(m *gatewayv1.GRPCRouteMatch, filters []gatewayv1.GRPCRouteFilter, backends ...string) grpcRouteOption {
	return func(r *gatewayv1.GRPCRoute) {
		rule := gatewayv1.GRPCRouteRule{Filters: filters}
		if m != nil {
			rule.Matches = []gatewayv1.GRPCRouteMatch{*m}
		}
		for _, b := range backends {
			name, weight := b, int32(1)
			if n, w, ok := strings.Cut(b, "="); ok {
				name = n
				if _, err := fmt.Sscan(w, &weight); err != nil {
					panic(err)
				}
			}
			rule.BackendRefs = append(rule.BackendRefs, gatewayv1.GRPCBackendRef{BackendRef: gatewayv1.BackendRef{
				BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(name), Port: ptr.To(gatewayv1.PortNumber(servicePort))},
				Weight:                 ptr.To(weight),
			}})
		}
		r.Spec.Rules = append(r.Spec.Rules, rule)
	}
}

// grpcMethod is a method match; an empty service or method is left out.
func grpcMethod(t gatewayv1.GRPCMethodMatchType, service, method string, headers ...gatewayv1.GRPCHeaderMatch) *gatewayv1.GRPCRouteMatch {
	mm := &gatewayv1.GRPCMethodMatch{Type: ptr.To(t)}
	if service != "" {
		mm.Service = ptr.To(service)
	}
	if method != "" {
		mm.Method = ptr.To(method)
	}
	return &gatewayv1.GRPCRouteMatch{Method: mm, Headers: headers}
}

func grpcHeader(name, value string) gatewayv1.GRPCHeaderMatch {
	return gatewayv1.GRPCHeaderMatch{Type: ptr.To(gatewayv1.GRPCHeaderMatchExact), Name: gatewayv1.GRPCHeaderName(name), Value: value}
}

const (
	exactMatch = gatewayv1.GRPCMethodMatchExact
	regexMatch = gatewayv1.GRPCMethodMatchRegularExpression
)

// TestGRPCRouteRoutesRealGRPCCalls sends gRPC calls through Kengine, over h2c on an HTTP
// listener and over TLS (HTTP/2 by ALPN) on an HTTPS one, to gRPC backends on loopback: method
// and header matches, their precedence, header filters, weights, invalid backends (UNAVAILABLE)
// and unmatched calls (UNIMPLEMENTED), next to an HTTPRoute on another hostname of the same
// listener.
func TestGRPCRouteRoutesRealGRPCCalls(t *testing.T) {
	h := newHarness(t)
	a, b := startGRPCBackend(t, "grpc-a"), startGRPCBackend(t, "grpc-b")
	web := startBackends(t, "web")
	httpPort, httpsPort := freePort(t), freePort(t)
	ca := newTestCA(t)
	edits := []gatewayv1.GRPCRouteFilter{
		{Type: gatewayv1.GRPCRouteFilterRequestHeaderModifier, RequestHeaderModifier: &gatewayv1.HTTPHeaderFilter{
			Set:    []gatewayv1.HTTPHeader{{Name: "x-tenant", Value: "{env.HOME}"}},
			Add:    []gatewayv1.HTTPHeader{{Name: "x-added", Value: "by-gateway"}},
			Remove: []string{"x-drop"},
		}},
		{Type: gatewayv1.GRPCRouteFilterResponseHeaderModifier, ResponseHeaderModifier: &gatewayv1.HTTPHeaderFilter{
			Set: []gatewayv1.HTTPHeader{{Name: "x-gateway", Value: "{env.HOME}"}},
		}},
	}
	s := snapshot(gateway(httpListener("http", httpPort, ""), httpsListener("https", httpsPort, "", "grpc-cert")),
		grpcRoute("echo", grpcHostnames("grpc.test"),
			grpcRule(grpcMethod(exactMatch, "echo.v1.Echo", "Echo"), nil, "svc-a"),
			grpcRule(grpcMethod(exactMatch, "echo.v1.Echo", "EchoTwo"), nil, "svc-b"),
			grpcRule(grpcMethod(regexMatch, `echo\.v[0-9]\.Echo`, "Echo(Four|Five)"), nil, "svc-b"),
			// Service only, and the same service with a header match, which goes first.
			grpcRule(grpcMethod(exactMatch, "echo.v2.Echo", ""), nil, "svc-a"),
			grpcRule(grpcMethod(exactMatch, "echo.v2.Echo", "", grpcHeader("version", "two")), nil, "svc-b"),
			// Method only: any service.
			grpcRule(grpcMethod(exactMatch, "", "Check"), nil, "svc-b"),
			// A header value with a placeholder is matched literally.
			grpcRule(grpcMethod(exactMatch, "echo.v5.Echo", "Echo", grpcHeader("x-user", "{env.HOME}")), nil, "svc-b"),
			grpcRule(grpcMethod(exactMatch, "echo.v1.Echo", "Headers"), edits, "svc-a"),
			grpcRule(grpcMethod(exactMatch, "echo.v3.Echo", ""), nil, "svc-a=3", "svc-b=1"),
			grpcRule(grpcMethod(exactMatch, "echo.v4.Echo", "Missing"), nil, "missing"),
			grpcRule(grpcMethod(exactMatch, "echo.v4.Echo", "Nowhere"), nil),
			grpcRule(grpcMethod(exactMatch, "echo.v4.Echo", "Half"), nil, "svc-a", "missing"),
		),
		route("web", withHostnames("web.test"), withRules(rule(to("web")))),
		service("svc-a", a), service("svc-b", b), service("web", web["web"]),
		ca.serverSecret(t, "grpc-cert", 2, "grpc.test"),
	)
	// Every rule is valid: a dropped one would leave its calls unmatched and hide a mistake.
	for _, rs := range translate.Translate(s, translate.Options{ControllerName: controllerName, AllowLoopbackBackends: true}).Status.Routes {
		for _, p := range rs.Parents {
			if c := apimeta.FindStatusCondition(p.Conditions, string(gatewayv1.RouteConditionPartiallyInvalid)); c != nil {
				t.Fatalf("%s: %s", rs.Route.GetName(), c.Message)
			}
		}
	}
	h.apply(s)

	plain := dialGRPC(t, httpPort, "grpc.test", nil)
	for _, tc := range []struct {
		name    string
		method  string
		md      []string
		code    codes.Code
		backend string
	}{
		{"exact service and method", "/echo.v1.Echo/Echo", nil, codes.OK, "grpc-a"},
		{"another method of the service", "/echo.v1.Echo/EchoTwo", nil, codes.OK, "grpc-b"},
		{"regular expression", "/echo.v7.Echo/EchoFive", nil, codes.OK, "grpc-b"},
		{"regular expression matches whole segments", "/echo.v7.Echo/EchoFiveX", nil, codes.Unimplemented, ""},
		{"service only", "/echo.v2.Echo/Anything", nil, codes.OK, "grpc-a"},
		{"service and header first", "/echo.v2.Echo/Anything", []string{"version", "two"}, codes.OK, "grpc-b"},
		{"service only is a whole segment", "/echo.v2.EchoAdmin/Anything", nil, codes.Unimplemented, ""},
		{"method only", "/grpc.health.v1.Health/Check", nil, codes.OK, "grpc-b"},
		{"placeholder header value matches literally", "/echo.v5.Echo/Echo", []string{"x-user", "{env.HOME}"}, codes.OK, "grpc-b"},
		{"placeholder header value does not expand", "/echo.v5.Echo/Echo", []string{"x-user", os.Getenv("HOME")}, codes.Unimplemented, ""},
		{"unmatched method is UNIMPLEMENTED", "/echo.v1.Echo/EchoThree", nil, codes.Unimplemented, ""},
		{"invalid backend is UNAVAILABLE", "/echo.v4.Echo/Missing", nil, codes.Unavailable, ""},
		{"no backend is UNAVAILABLE", "/echo.v4.Echo/Nowhere", nil, codes.Unavailable, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := plain.call(tc.method, tc.md...)
			expectGRPC(t, rep, tc.code, tc.backend)
			if got := rep.header.Get(grpcMethodHeader); tc.code == codes.OK && (len(got) != 1 || got[0] != tc.method) {
				t.Errorf("backend was called with %v, want %s", got, tc.method)
			}
		})
	}

	t.Run("header filters keep values literal", func(t *testing.T) {
		rep := plain.call("/echo.v1.Echo/Headers", "x-tenant", "client", "x-drop", "must-not-arrive", "x-keep", "kept")
		expectGRPC(t, rep, codes.OK, "grpc-a")
		for name, want := range map[string]string{
			grpcEchoPrefix + "x-tenant": "{env.HOME}",
			grpcEchoPrefix + "x-added":  "by-gateway",
			grpcEchoPrefix + "x-keep":   "kept",
			grpcEchoPrefix + "x-drop":   "",
			"x-gateway":                 "{env.HOME}",
		} {
			if got := strings.Join(rep.header.Get(name), ","); got != want {
				t.Errorf("%s = %q, want %q", name, got, want)
			}
		}
	})

	t.Run("weights", func(t *testing.T) {
		counts := map[string]int{}
		const calls = 200
		for range calls {
			rep := plain.call("/echo.v3.Echo/Echo")
			if rep.code != codes.OK {
				t.Fatalf("weighted call: %v", rep)
			}
			counts[rep.backend()]++
		}
		if share := float64(counts["grpc-a"]) / calls; share < 0.65 || share > 0.85 {
			t.Errorf("grpc-a answered %d of %d calls, want about 3 in 4", counts["grpc-a"], calls)
		}
	})

	t.Run("an invalid backend's share is UNAVAILABLE", func(t *testing.T) {
		// The failing share goes through Kengine's loopback failure server, over h2c too.
		counts := map[codes.Code]int{}
		const calls = 40
		for range calls {
			rep := plain.call("/echo.v4.Echo/Half")
			if rep.code == codes.OK && rep.backend() != "grpc-a" {
				t.Fatalf("weighted call: %v", rep)
			}
			counts[rep.code]++
		}
		if counts[codes.OK]+counts[codes.Unavailable] != calls || counts[codes.OK] < calls/4 || counts[codes.Unavailable] < calls/4 {
			t.Errorf("codes %v, want about half OK and half UNAVAILABLE", counts)
		}
	})

	t.Run("unmatched host is UNIMPLEMENTED", func(t *testing.T) {
		expectGRPC(t, dialGRPC(t, httpPort, "other.test", nil).call("/echo.v1.Echo/Echo"), codes.Unimplemented, "")
	})

	t.Run("HTTPRoute on another host of the listener", func(t *testing.T) {
		expectReply(t, h.send(httpPort, request{host: "web.test", path: "/"}), 200, "web")
		// HTTP/1.1 to the gRPC host reaches the GRPCRoute's rules, which match no such path.
		expectReply(t, h.send(httpPort, request{host: "grpc.test", path: "/"}), 404, "")
	})

	t.Run("over TLS", func(t *testing.T) {
		creds := credentials.NewTLS(&tls.Config{ServerName: "grpc.test", RootCAs: ca.pool, MinVersion: tls.VersionTLS12})
		expectGRPC(t, dialGRPC(t, httpsPort, "grpc.test", creds).call("/echo.v1.Echo/EchoTwo"), codes.OK, "grpc-b")
	})
}

// TestGRPCRouteRefusesHostileValues: a method expression too costly for Kengine, one that
// tries to break out of its group, and names that are not gRPC names each drop only their own
// rule, with the reason in status, while the route's valid rules serve.
func TestGRPCRouteRefusesHostileValues(t *testing.T) {
	h := newHarness(t)
	a := startGRPCBackend(t, "grpc-a")
	port := freePort(t)
	s := snapshot(gateway(httpListener("http", port, "")),
		grpcRoute("hostile",
			grpcRule(grpcMethod(exactMatch, "echo.v1.Echo", "Echo"), nil, "svc-a"),
			grpcRule(grpcMethod(regexMatch, "(.*)*(.*)*(.*)*(.*)*(.*)*(.*)*(.*)*(.*)*(.*)*(.*)*x", ""), nil, "svc-a"),
			grpcRule(grpcMethod(regexMatch, `a)|(.*`, "Echo"), nil, "svc-a"),
			grpcRule(grpcMethod(regexMatch, `evil\Q`, ""), nil, "svc-a"),
			grpcRule(grpcMethod(exactMatch, "{env.HOME}", "Echo"), nil, "svc-a"),
			grpcRule(grpcMethod(exactMatch, "echo.v1.Echo", "Echo/../Other"), nil, "svc-a"),
		),
		service("svc-a", a),
	)
	tr := translate.Translate(s, translate.Options{ControllerName: controllerName, AllowLoopbackBackends: true})
	parents := tr.Status.Routes[0].Parents
	partial := apimeta.FindStatusCondition(parents[0].Conditions, string(gatewayv1.RouteConditionPartiallyInvalid))
	if !apimeta.IsStatusConditionTrue(parents[0].Conditions, string(gatewayv1.RouteConditionAccepted)) || partial == nil {
		t.Fatalf("conditions = %+v, want Accepted with PartiallyInvalid", parents[0].Conditions)
	}
	for _, rule := range []string{"rule 1:", "rule 2:", "rule 3:", "rule 4:", "rule 5:"} {
		if !strings.Contains(partial.Message, rule) {
			t.Errorf("PartiallyInvalid does not name %s: %s", rule, partial.Message)
		}
	}
	h.apply(s)
	c := dialGRPC(t, port, "any.test", nil)
	expectGRPC(t, c.call("/echo.v1.Echo/Echo"), codes.OK, "grpc-a")
	// Nothing the dropped rules asked for is served; in particular no expression took the
	// whole path.
	for _, m := range []string{"/aaax/Echo", "/evil/Echo", "/a/b/Echo", "/" + os.Getenv("HOME") + "/Echo", "/x/Other"} {
		expectGRPC(t, c.call(m), codes.Unimplemented, "")
	}
}
