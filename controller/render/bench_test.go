package render

import (
	"fmt"
	"testing"

	"github.com/khulnasoft/gateway/controller/ir"
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

// benchGateway builds the model translate would give for one HTTP listener and benchRoutes
// HTTPRoutes: per route a prefix rule with a path rewrite, an exact rule, and a header-matched
// rule with a request header edit split 3:1 over two Services.
func benchGateway() *ir.Gateway {
	services := make([]ir.Backend, benchServices)
	for i := range services {
		eps := make([]string, benchEndpoints)
		for e := range eps {
			eps[e] = fmt.Sprintf("10.%d.%d.%d:8080", i/250, i%250, e+1)
		}
		services[i] = ir.Backend{Name: fmt.Sprintf("apps/svc-%04d:8080", i), Weight: 1, Endpoints: eps}
	}
	weighted := func(b ir.Backend, w int32) ir.Backend {
		b.Weight = w
		return b
	}
	vhosts := make([]*ir.VirtualHost, benchHostnames)
	for h := range vhosts {
		vhosts[h] = &ir.VirtualHost{Hostname: fmt.Sprintf("host-%03d.example.com", h)}
	}
	for i := range benchRoutes {
		a, b := services[i%benchServices], services[(i+1)%benchServices]
		name := fmt.Sprintf("route-%05d", i)
		source := func(rule int) ir.Source {
			return ir.Source{Kind: "HTTPRoute", Namespace: "apps", Name: name, Rule: rule}
		}
		vh := vhosts[i%benchHostnames]
		vh.Routes = append(vh.Routes,
			&ir.HTTPRoute{
				Source:   source(0),
				Match:    ir.HTTPMatch{Path: ir.PathMatch{Kind: ir.PathPrefix, Value: fmt.Sprintf("/r%d/api", i)}},
				Filters:  []ir.HTTPFilter{{Rewrite: &ir.Rewrite{Path: &ir.PathRewrite{ReplacePrefix: true, Prefix: fmt.Sprintf("/r%d/api", i), Replacement: "/api"}}}},
				Backends: []ir.Backend{a},
			},
			&ir.HTTPRoute{
				Source:   source(1),
				Match:    ir.HTTPMatch{Path: ir.PathMatch{Kind: ir.PathExact, Value: fmt.Sprintf("/r%d/healthz", i)}},
				Backends: []ir.Backend{b},
			},
			&ir.HTTPRoute{
				Source: source(2),
				Match: ir.HTTPMatch{
					Path:    ir.PathMatch{Kind: ir.PathPrefix, Value: fmt.Sprintf("/r%d", i)},
					Headers: []ir.StringMatch{{Name: "X-Canary", Value: "true"}},
				},
				Filters:  []ir.HTTPFilter{{RequestHeaders: &ir.HeaderEdits{Set: []ir.Header{{Name: "X-Route", Value: name}}}}},
				Backends: []ir.Backend{weighted(a, 3), weighted(b, 1)},
			},
		)
	}
	return &ir.Gateway{Name: "infra/gw", HTTP: []*ir.HTTPServer{{Port: 80, Listeners: []*ir.HTTPListener{{Name: "http", VirtualHosts: vhosts}}}}}
}

// BenchmarkRender5000Routes measures render's share of one sync for a large Gateway: render
// alone, render with finalize (encode and stamp the version), the bytes pushed, and both
// again with every virtual host found in a cache, as in a resync.
func BenchmarkRender5000Routes(b *testing.B) {
	gw := benchGateway()
	rules := 0
	for _, vh := range gw.HTTP[0].Listeners[0].VirtualHosts {
		rules += len(vh.Routes)
	}
	if want := benchRoutes * benchRulesPerRoute; rules != want {
		b.Fatalf("%d routes in the model, want %d", rules, want)
	}
	opts := testOptions()

	b.Run("render", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Config(gw, opts); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("render+finalize", func(b *testing.B) {
		b.ReportAllocs()
		var size int
		for b.Loop() {
			cfg, err := Config(gw, opts)
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
	})
	b.Run("render+finalize, cached", func(b *testing.B) {
		cached := opts
		cached.Cache = &mapCache{}
		cfg, err := Config(gw, cached)
		if err != nil {
			b.Fatal(err)
		}
		data, _, err := kengine.Finalize(cfg)
		if err != nil {
			b.Fatal(err)
		}
		size := len(data)
		b.ReportAllocs()
		for b.Loop() {
			cfg, err := Config(gw, cached)
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := kengine.FinalizeSized(cfg, size); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(size), "config-bytes")
	})
}
