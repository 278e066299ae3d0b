package controller

import (
	"fmt"
	"testing"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/internal/testobj"
	"github.com/khulnasoft/gateway/controller/render"
	"github.com/khulnasoft/gateway/controller/translate"
	"github.com/khulnasoft/gateway/kengine"
)

// Sizes of the benchmark's Gateway: routes spread over hostnames, each with benchRulesPerRoute
// rules whose backends come from benchServices Services of benchEndpoints endpoints each.
const (
	benchRoutes        = 5000
	benchHostnames     = 500
	benchRulesPerRoute = 3
	benchServices      = 1000
	benchEndpoints     = 3
)

// benchSnapshot builds a Gateway with one HTTP listener and benchRoutes HTTPRoutes: per route a
// prefix rule, an exact rule and a header-matched rule split 3:1 over two Services.
func benchSnapshot() *translate.Snapshot {
	objs := make([]any, 0, benchRoutes+2*benchServices)
	for i := range benchServices {
		addrs := make([]string, benchEndpoints)
		for e := range addrs {
			addrs[e] = fmt.Sprintf("10.%d.%d.%d", i/250, i%250, e+1)
		}
		svc, slice := testobj.Service("apps", fmt.Sprintf("svc-%04d", i), 8080, 8080, addrs...)
		objs = append(objs, svc, slice)
	}
	for i := range benchRoutes {
		svcA, svcB := fmt.Sprintf("svc-%04d", i%benchServices), fmt.Sprintf("svc-%04d", (i+1)%benchServices)
		withHeader := testobj.PathPrefix(fmt.Sprintf("/r%d", i))
		withHeader.Headers = []gatewayv1.HTTPHeaderMatch{{Name: "X-Canary", Value: "true"}}
		objs = append(objs, testobj.Route("apps", fmt.Sprintf("route-%05d", i),
			testobj.Parent("infra", "gw", ""),
			testobj.Hostnames(fmt.Sprintf("host-%03d.example.com", i%benchHostnames)),
			testobj.Rule([]gatewayv1.HTTPRouteMatch{testobj.PathPrefix(fmt.Sprintf("/r%d/api", i))}, nil, testobj.Backend("", svcA, 8080, 1)),
			testobj.Rule([]gatewayv1.HTTPRouteMatch{testobj.PathExact(fmt.Sprintf("/r%d/healthz", i))}, nil, testobj.Backend("", svcB, 8080, 1)),
			testobj.Rule([]gatewayv1.HTTPRouteMatch{withHeader}, nil, testobj.Backend("", svcA, 8080, 3), testobj.Backend("", svcB, 8080, 1)),
		))
	}
	return testobj.Snapshot(testobj.Gateway(testobj.Listener("http", gatewayv1.HTTPProtocolType, 80, "", testobj.FromAll)), objs...)
}

// BenchmarkTranslateRender5000Routes measures one sync's pure work for a large Gateway:
// translate, render and finalize (encode and stamp the version).
func BenchmarkTranslateRender5000Routes(b *testing.B) {
	s := benchSnapshot()
	opts := translate.Options{ControllerName: testobj.ControllerName}
	renderOpts := testobj.RenderOptions()

	// The snapshot must translate into what it claims to be.
	rules := 0
	for _, srv := range translate.Translate(s, opts).Gateway.HTTP {
		for _, l := range srv.Listeners {
			if len(l.VirtualHosts) != benchHostnames {
				b.Fatalf("%d virtual hosts, want %d", len(l.VirtualHosts), benchHostnames)
			}
			for _, vh := range l.VirtualHosts {
				rules += len(vh.Routes)
			}
		}
	}
	if want := benchRoutes * benchRulesPerRoute; rules != want {
		b.Fatalf("%d rules in the model, want %d", rules, want)
	}

	b.ReportAllocs()
	var size int
	for b.Loop() {
		cfg, err := render.Config(translate.Translate(s, opts).Gateway, renderOpts)
		if err != nil {
			b.Fatal(err)
		}
		data, _, err := kengine.Finalize(cfg)
		if err != nil {
			b.Fatal(err)
		}
		size = len(data)
	}
	b.ReportMetric(float64(size), "config-bytes")
}
