package controller

import (
	"fmt"
	"testing"
	"time"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/internal/testobj"
	"github.com/khulnasoft/gateway/controller/translate"
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
	return pipelineSnapshot(benchRoutes, benchHostnames, benchServices)
}

// pipelineSnapshot builds the benchmark's Gateway in any size.
func pipelineSnapshot(routes, hostnames, services int) *translate.Snapshot {
	objs := make([]any, 0, routes+2*services)
	for i := range services {
		addrs := make([]string, benchEndpoints)
		for e := range addrs {
			addrs[e] = fmt.Sprintf("10.%d.%d.%d", i/250, i%250, e+1)
		}
		svc, slice := testobj.Service("apps", fmt.Sprintf("svc-%04d", i), 8080, 8080, addrs...)
		objs = append(objs, svc, slice)
	}
	for i := range routes {
		svcA, svcB := fmt.Sprintf("svc-%04d", i%services), fmt.Sprintf("svc-%04d", (i+1)%services)
		withHeader := testobj.PathPrefix(fmt.Sprintf("/r%d", i))
		withHeader.Headers = []gatewayv1.HTTPHeaderMatch{{Name: "X-Canary", Value: "true"}}
		objs = append(objs, testobj.Route("apps", fmt.Sprintf("route-%05d", i),
			testobj.Parent("infra", "gw", ""),
			testobj.Hostnames(fmt.Sprintf("host-%03d.example.com", i%hostnames)),
			testobj.Rule([]gatewayv1.HTTPRouteMatch{testobj.PathPrefix(fmt.Sprintf("/r%d/api", i))}, nil, testobj.Backend("", svcA, 8080, 1)),
			testobj.Rule([]gatewayv1.HTTPRouteMatch{testobj.PathExact(fmt.Sprintf("/r%d/healthz", i))}, nil, testobj.Backend("", svcB, 8080, 1)),
			testobj.Rule([]gatewayv1.HTTPRouteMatch{withHeader}, nil, testobj.Backend("", svcA, 8080, 3), testobj.Backend("", svcB, 8080, 1)),
		))
	}
	return testobj.Snapshot(testobj.Gateway(testobj.Listener("http", gatewayv1.HTTPProtocolType, 80, "", testobj.FromAll)), objs...)
}

// checkBenchSnapshot fails the benchmark unless the snapshot translates into what it claims.
func checkBenchSnapshot(b *testing.B, s *translate.Snapshot, opts translate.Options) {
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
}

// cpuClock reports the CPU time per operation besides the wall time: on a busy machine the
// wall time of a benchmark says more about the other processes than about the code.
type cpuClock struct {
	b     *testing.B
	start time.Duration
}

func startCPUClock(b *testing.B) *cpuClock { return &cpuClock{b: b, start: cpuTime()} }

func (c *cpuClock) report() {
	c.b.ReportMetric(float64(cpuTime()-c.start)/float64(c.b.N), "cpu-ns/op")
}

// BenchmarkTranslateRender5000Routes measures one sync's pure work for a large Gateway:
// translate, render and finalize (encode and stamp the version). "first" is the first sync of
// the Gateway (its render cache empty, filled along the way); "resync" a sync whose input did
// not change, after one that filled the cache, as every sync but the first runs in the
// controller.
func BenchmarkTranslateRender5000Routes(b *testing.B) {
	s := benchSnapshot()
	opts := translate.Options{ControllerName: testobj.ControllerName}
	renderOpts := testobj.RenderOptions()
	checkBenchSnapshot(b, s, opts)

	b.Run("first", func(b *testing.B) {
		b.ReportAllocs()
		clock := startCPUClock(b)
		var size int
		for b.Loop() {
			data, _, err := (&renderCache{}).render(translate.Translate(s, opts), renderOpts)
			if err != nil {
				b.Fatal(err)
			}
			size = len(data)
		}
		clock.report()
		b.ReportMetric(float64(size), "config-bytes")
	})
	b.Run("resync", func(b *testing.B) {
		cache := &renderCache{}
		if _, _, err := cache.render(translate.Translate(s, opts), renderOpts); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		clock := startCPUClock(b)
		var size int
		for b.Loop() {
			data, _, err := cache.render(translate.Translate(s, opts), renderOpts)
			if err != nil {
				b.Fatal(err)
			}
			size = len(data)
		}
		clock.report()
		b.ReportMetric(float64(size), "config-bytes")
	})
}

// BenchmarkTranslateRenderOneRouteChanged measures the sync that follows a change to one
// route of the large Gateway: every operation gives the route a path it never had, so the
// route's virtual host is rendered again and the 499 others come from the cache.
func BenchmarkTranslateRenderOneRouteChanged(b *testing.B) {
	s := benchSnapshot()
	opts := translate.Options{ControllerName: testobj.ControllerName}
	renderOpts := testobj.RenderOptions()
	checkBenchSnapshot(b, s, opts)
	cache := &renderCache{}
	if _, _, err := cache.render(translate.Translate(s, opts), renderOpts); err != nil {
		b.Fatal(err)
	}
	const changed = 1234
	original := s.HTTPRoutes[changed]
	b.ReportAllocs()
	clock := startCPUClock(b)
	version := 0
	for b.Loop() {
		b.StopTimer()
		version++
		r := original.DeepCopy()
		r.Spec.Rules[0].Matches = []gatewayv1.HTTPRouteMatch{testobj.PathPrefix(fmt.Sprintf("/r%d/api-v%d", changed, version))}
		s.HTTPRoutes[changed] = r
		b.StartTimer()
		if _, _, err := cache.render(translate.Translate(s, opts), renderOpts); err != nil {
			b.Fatal(err)
		}
	}
	clock.report()
}
