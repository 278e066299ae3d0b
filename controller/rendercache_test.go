package controller

import (
	"bytes"
	"testing"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/internal/testobj"
	"github.com/khulnasoft/gateway/controller/translate"
)

// TestRenderCacheGivesTheSameBytes runs a Gateway's syncs through its render cache, changing a
// route, a Service's endpoints and the set of routes in between, and wants from each the bytes
// and version that rendering without a cache gives.
func TestRenderCacheGivesTheSameBytes(t *testing.T) {
	s := pipelineSnapshot(60, 6, 10)
	opts := translate.Options{ControllerName: testobj.ControllerName}
	ropts := testobj.RenderOptions()
	cache := &renderCaches{}
	steps := []struct {
		name   string
		change func()
	}{
		{"first sync", func() {}},
		{"resync", func() {}},
		{"one route changed", func() {
			r := s.HTTPRoutes[7].DeepCopy()
			r.Spec.Rules[1].Matches = []gatewayv1.HTTPRouteMatch{testobj.PathExact("/changed")}
			s.HTTPRoutes[7] = r
		}},
		{"endpoints changed", func() {
			svc, slice := testobj.Service("apps", "svc-0003", 8080, 8080, "10.77.0.1")
			s.Services[testobj.NN("apps", "svc-0003")] = svc
			s.EndpointSlices[testobj.NN("apps", "svc-0003")] = append(s.EndpointSlices[testobj.NN("apps", "svc-0003")][:0:0], slice)
		}},
		{"route removed", func() { s.HTTPRoutes = s.HTTPRoutes[1:] }},
		{"change undone", func() {
			r := s.HTTPRoutes[6].DeepCopy()
			r.Spec.Rules[1].Matches = []gatewayv1.HTTPRouteMatch{testobj.PathExact("/r7/healthz")}
			s.HTTPRoutes[6] = r
		}},
	}
	key := testobj.NN("infra", "gw")
	for _, step := range steps {
		step.change()
		tr := translate.Translate(s, opts)
		want, wantVersion, err := renderConfig(tr, ropts)
		if err != nil {
			t.Fatal(err)
		}
		got, version, err := cache.forGateway(key).render(tr, ropts)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) || version != wantVersion {
			t.Fatalf("%s: the cached render differs from the uncached one", step.name)
		}
		c := cache.forGateway(key)
		used := 0
		for _, e := range c.fragments {
			if e.used == c.renders {
				used++
			}
		}
		if used != 6 || len(c.fragments) > 2*6 {
			t.Errorf("%s: %d fragments kept and %d used, want one used per virtual host (6) and at most two renders' worth kept", step.name, len(c.fragments), used)
		}
	}
	cache.forget(key)
	if len(cache.byGateway) != 0 {
		t.Error("forget kept the Gateway's cache")
	}
}
