package controller

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/record"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/internal/testobj"
	"github.com/khulnasoft/gateway/controller/translate"
	"github.com/khulnasoft/gateway/kengine"
)

// Tests of the tenant boundary (DESIGN.md §2a): what a route author writes can neither reach
// the proxy's own addresses nor make Kengine refuse the Gateway's config.

func TestNameResolverCachesAndExpires(t *testing.T) {
	now := time.Unix(1000, 0)
	calls := 0
	r := newNameResolver(func(ctx context.Context, host string) ([]netip.Addr, error) {
		calls++
		if host == "broken.example" {
			return nil, errors.New("no such host")
		}
		return []netip.Addr{netip.MustParseAddr("10.0.0.9"), netip.MustParseAddr("::ffff:10.0.0.8")}, nil
	}, func() time.Time { return now })
	res := r.resolve(context.Background(), "db.example")
	if res.Err != nil || len(res.Addrs) != 2 || res.Addrs[0] != netip.MustParseAddr("10.0.0.8") {
		t.Fatalf("resolve = %+v, want sorted and unmapped addresses", res)
	}
	r.resolve(context.Background(), "db.example")
	if calls != 1 {
		t.Errorf("%d lookups, want 1 while the answer is fresh", calls)
	}
	now = now.Add(r.ttl)
	r.resolve(context.Background(), "db.example")
	if calls != 2 {
		t.Errorf("%d lookups, want 2 after the answer expired", calls)
	}
	if res := r.resolve(context.Background(), "broken.example"); res.Err == nil {
		t.Error("a failed lookup must be reported")
	}
}

// isolateRejection must find exactly the objects Kengine refuses, whatever their number, and
// never report an object that is fine.
func TestIsolateRejection(t *testing.T) {
	refs := func(names ...string) []translate.ObjectRef {
		var out []translate.ObjectRef
		for _, n := range names {
			out = append(out, translate.RouteRef("HTTPRoute", "ns", n))
		}
		return out
	}
	all := refs("a", "b", "c", "d", "e", "f", "g", "h", "i")
	fps := map[translate.ObjectRef]string{}
	for _, r := range all {
		fps[r] = "1"
	}
	tests := []struct {
		name         string
		bad          []string
		pairs        [][2]string // refused only together
		lastAccepted map[translate.ObjectRef]string
		wantBad      []string
		wantErr      error
	}{
		{name: "one bad route", bad: []string{"e"}, wantBad: []string{"e"}},
		{name: "two bad routes", bad: []string{"b", "h"}, wantBad: []string{"b", "h"}},
		{name: "a pair refused only together keeps the first", pairs: [][2]string{{"c", "g"}}, wantBad: []string{"g"}},
		{name: "the suspect is what changed", bad: []string{"d"}, lastAccepted: map[translate.ObjectRef]string{all[0]: "1", all[1]: "1", all[2]: "1"}, wantBad: []string{"d"}},
		{name: "an unchanged object is found once the suspects are cleared", bad: []string{"a"},
			lastAccepted: map[translate.ObjectRef]string{all[0]: "1", all[1]: "1"}, wantBad: []string{"a"}},
		{name: "refused without any object", bad: []string{"*"}, wantErr: errBaseRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loads := 0
			try := func(_ context.Context, excluded map[translate.ObjectRef]string) (bool, string, error) {
				loads++
				in := func(n string) bool { _, out := excluded[translate.RouteRef("HTTPRoute", "ns", n)]; return !out }
				for _, b := range tt.bad {
					if b == "*" || in(b) {
						return false, "refused " + b, nil
					}
				}
				for _, p := range tt.pairs {
					if in(p[0]) && in(p[1]) {
						return false, "refused pair", nil
					}
				}
				return true, "", nil
			}
			got, err := isolateRejection(context.Background(), try, "refused", all, nil, tt.lastAccepted, fps)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				return
			}
			var names []string
			for _, r := range candidateRefs(got) {
				names = append(names, r.Name)
				if got[r] == "" {
					t.Errorf("%s excluded without Kengine's message", r)
				}
			}
			if strings.Join(names, ",") != strings.Join(tt.wantBad, ",") {
				t.Errorf("excluded %v, want %v", names, tt.wantBad)
			}
			// Group testing: about 2·log2(n) loads per object found, against n for one at a time.
			if limit := 2 + 2*len(names)*4; loads > limit {
				t.Errorf("%d trial loads for %d objects and %d culprits, want at most %d", loads, len(all), len(names), limit)
			}
		})
	}
}

func TestRejectionMemoryForgetsChangedObjects(t *testing.T) {
	var m rejectionMemory
	gw := testobj.NN("infra", "gw")
	a, b := translate.RouteRef("HTTPRoute", "ns", "a"), translate.RouteRef("HTTPRoute", "ns", "b")
	now := time.Unix(1000, 0)
	m.recordExcluded(gw, map[translate.ObjectRef]string{a: "1", b: "1"}, map[translate.ObjectRef]string{a: "refused", b: "refused"}, now)
	got := m.excludedFor(gw, map[translate.ObjectRef]string{a: "1", b: "2"}, now)
	if _, ok := got[a]; !ok || len(got) != 1 {
		t.Errorf("excluded = %v, want only the unchanged a: editing b tries it again", got)
	}
	if later := m.excludedFor(gw, map[translate.ObjectRef]string{a: "1", b: "2"}, now.Add(exclusionRetry)); len(later) != 0 {
		t.Errorf("excluded after %s = %v, want none: an unchanged object is tried again", exclusionRetry, later)
	}
	m.recordAccepted(gw, map[translate.ObjectRef]string{a: "1", b: "2"}, got)
	if acc := m.lastAccepted(gw); acc[b] != "2" || len(acc) != 1 {
		t.Errorf("last accepted = %v, want b only (a was left out)", acc)
	}
	m.forget(gw)
	if m.lastAccepted(gw) != nil {
		t.Error("a deleted Gateway leaves nothing behind")
	}
}

func TestSyncClearsRouteStatusOfAGoneGateway(t *testing.T) {
	kube, gw := basicObjects()
	route := gw[2].(*gatewayv1.HTTPRoute)
	route.Status.Parents = []gatewayv1.RouteParentStatus{
		{ParentRef: gatewayv1.ParentReference{Name: "gw"}, ControllerName: testobj.ControllerName,
			Conditions: []metav1.Condition{{Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted", LastTransitionTime: metav1.NewTime(testobj.Time)}}},
		{ParentRef: gatewayv1.ParentReference{Name: "foreign"}, ControllerName: "example.com/other",
			Conditions: []metav1.Condition{{Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted", LastTransitionTime: metav1.NewTime(testobj.Time)}}},
	}
	for name, objs := range map[string][]runtime.Object{
		"deleted": {gw[0], route},
		"moved to a class of another controller": {gw[0], func() runtime.Object {
			g := gw[1].DeepCopyObject().(*gatewayv1.Gateway)
			g.Spec.GatewayClassName = "other"
			return g
		}(),
			&gatewayv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "other"}, Spec: gatewayv1.GatewayClassSpec{ControllerName: "example.com/other"}}, route},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, kube, objs)
			if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
				t.Fatal(err)
			}
			routes := f.statusUpdates("httproutes")
			if len(routes) != 1 {
				t.Fatalf("route status updates = %d, want 1", len(routes))
			}
			parents := routes[0].(*gatewayv1.HTTPRoute).Status.Parents
			if len(parents) != 1 || parents[0].ControllerName != "example.com/other" {
				t.Errorf("parents = %+v, want only the other controller's entry", parents)
			}
			if len(f.pusher.pushes) != 0 {
				t.Errorf("pushed to a Gateway that is not ours")
			}
		})
	}
}

// refusingPusher refuses every config that contains poison, as Kengine refuses a config it
// cannot compile, and accepts the others.
type refusingPusher struct {
	fakePusher
	poison string
}

func (p *refusingPusher) Push(ctx context.Context, eps []kengine.Endpoint, config []byte, version string) []kengine.Result {
	out := p.fakePusher.Push(ctx, eps, config, version)
	if strings.Contains(string(config), p.poison) {
		for i := range out {
			out[i].Err = &kengine.APIError{StatusCode: 400, Message: "loading config: " + p.poison + " is not allowed"}
		}
	}
	return out
}

// poisonedRoute is the HTTPRoute infra/tenant-b on gw whose config refusingPusher refuses.
func poisonedRoute() *gatewayv1.HTTPRoute {
	return testobj.Route("infra", "tenant-b", testobj.Parent("", "gw", ""), testobj.Rule([]gatewayv1.HTTPRouteMatch{testobj.PathPrefix("/b")},
		[]gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterRequestHeaderModifier,
			RequestHeaderModifier: &gatewayv1.HTTPHeaderFilter{Set: []gatewayv1.HTTPHeader{{Name: "X-Poison", Value: "kengine-refuses-this"}}}}},
		testobj.Backend("", "web", 80, 1)))
}

// Defense in depth: if Kengine refuses a config anyway, only the route it depends on is left
// out (with Kengine's message), the rest is pushed, and the refusal shows in an Event.
func TestSyncLeavesOutWhatKengineRefuses(t *testing.T) {
	kube, gw := basicObjects()
	gw = append(gw, poisonedRoute())
	recorder := record.NewFakeRecorder(10)
	pusher := &refusingPusher{poison: "kengine-refuses-this"}
	f := newFixtureWith(t, kube, gw, func(_ *fixture, o *Options) { o.Recorder = recorder })
	f.ctrl.pusher = pusher
	if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
		t.Fatal(err)
	}
	last := pusher.pushes[len(pusher.pushes)-1]
	if strings.Contains(string(last.config), pusher.poison) || !strings.Contains(string(last.config), `"dial":"10.0.0.1:8080"`) {
		t.Fatalf("last push must serve the other route without the refused one")
	}
	if len(last.endpoints) != 2 {
		t.Errorf("last push went to %d pods, want every pod", len(last.endpoints))
	}
	statuses := map[string]*metav1.Condition{}
	for _, o := range f.statusUpdates("httproutes") {
		r := o.(*gatewayv1.HTTPRoute)
		statuses[r.Name] = meta.FindStatusCondition(r.Status.Parents[0].Conditions, "Accepted")
	}
	if c := statuses["tenant-b"]; c == nil || c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, "is not allowed") {
		t.Errorf("refused route: Accepted = %+v, want False with Kengine's message", c)
	}
	if c := statuses["r"]; c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("other route: Accepted = %+v, want True", c)
	}
	select {
	case e := <-recorder.Events:
		if !strings.Contains(e, "ConfigRefused") || !strings.Contains(e, "HTTPRoute infra/tenant-b") {
			t.Errorf("event %q, want ConfigRefused naming the route", e)
		}
	default:
		t.Error("no Event recorded for the refusal")
	}
	// The next sync remembers the exclusion: no trial loads, one push.
	before := len(pusher.pushes)
	if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
		t.Fatal(err)
	}
	if n := len(pusher.pushes) - before; n != 1 {
		t.Errorf("second sync made %d pushes, want 1", n)
	}
}
