package controller

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/record"

	"github.com/khulnasoft/gateway/controller/internal/testobj"
	"github.com/khulnasoft/gateway/kengine"
)

// drainEvents returns the events recorded so far.
func drainEvents(r *record.FakeRecorder) []string {
	var out []string
	for {
		select {
		case e := <-r.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func TestEventReporterRecordsChangesOnly(t *testing.T) {
	now := testobj.Time
	rec := record.NewFakeRecorder(20)
	e := newEventReporter(rec, func() time.Time { return now })
	gw := testobj.Gateway()
	unreachable := pushOutcome{pods: 2, ok: 1, failed: []string{"b: connection refused"}, unreachable: []podFailure{{pod: "b", reason: "connection refused"}}}
	allGood := pushOutcome{pods: 2, ok: 2}

	steps := []struct {
		name    string
		advance time.Duration
		do      func()
		want    []string // event prefixes, in order
	}{
		{"a pod just failing is not reported", 0, func() { e.pushed(gw, gwKey, unreachable) }, nil},
		{"still failing before the grace", podUnreachableAfter - time.Second, func() { e.pushed(gw, gwKey, unreachable) }, nil},
		{"failing for the grace", time.Second, func() { e.pushed(gw, gwKey, unreachable) }, []string{"Warning PodUnreachable Kengine pods not programmed for 30s or more (they keep their last config): b: connection refused"}},
		{"reported once", time.Minute, func() { e.pushed(gw, gwKey, unreachable) }, nil},
		{"recovery after a Warning", 0, func() { e.pushed(gw, gwKey, allGood) }, []string{"Normal Programmed Config programmed on all 2 Kengine pods"}},
		{"no recovery without a Warning", 0, func() { e.pushed(gw, gwKey, allGood) }, nil},
		{"invalid parameters", 0, func() { e.invalidParameters(gw, gwKey, `replicas: "x" is not a number`) }, []string{"Warning InvalidParameters"}},
		{"the same invalid parameters", 0, func() { e.invalidParameters(gw, gwKey, `replicas: "x" is not a number`) }, nil},
		{"a refusal that cannot be isolated", 0, func() { e.refusedWhole(gw, gwKey, "a", "loading config: bad") }, []string{"Warning ConfigRefused Kengine pod a refused the config"}},
		{"the same refusal", 0, func() { e.refusedWhole(gw, gwKey, "a", "loading config: bad") }, nil},
		{"programmed again", 0, func() { e.pushed(gw, gwKey, allGood) }, []string{"Normal Programmed"}},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		s.do()
		got := drainEvents(rec)
		if len(got) != len(s.want) {
			t.Fatalf("%s: events %q, want %d", s.name, got, len(s.want))
		}
		for i := range got {
			if !strings.HasPrefix(got[i], s.want[i]) {
				t.Errorf("%s: event %q, want it to start with %q", s.name, got[i], s.want[i])
			}
		}
	}
}

// A refused route gets its own Event, after the Gateway's, naming the Gateway.
func TestSyncRecordsRefusedRouteEvents(t *testing.T) {
	kube, gw := basicObjects()
	rec := &objectRecorder{}
	f := newFixtureWith(t, kube, append(gw, poisonedRoute()), func(_ *fixture, o *Options) { o.Recorder = rec })
	f.ctrl.pusher = &refusingPusher{poison: "kengine-refuses-this"}
	if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
		t.Fatal(err)
	}
	if len(rec.events) != 2 {
		t.Fatalf("events %+v, want one on the Gateway and one on the route", rec.events)
	}
	if e := rec.events[0]; e.reason != EventConfigRefused || e.object != "Gateway infra/gw" || !strings.Contains(e.message, "HTTPRoute infra/tenant-b") {
		t.Errorf("first event %+v, want ConfigRefused on the Gateway naming the route", e)
	}
	if e := rec.events[1]; e.reason != EventRefusedByKengine || e.eventType != "Warning" || e.object != "HTTPRoute infra/tenant-b" ||
		!strings.HasPrefix(e.message, "Kengine refused the config of Gateway infra/gw with this route") {
		t.Errorf("second event %+v, want RefusedByKengine on the route", e)
	}
}

// objectRecorder records which object each Event is about.
type objectRecorder struct {
	events []recordedEvent
}

type recordedEvent struct {
	object, eventType, reason, message string
}

func (r *objectRecorder) Event(obj runtime.Object, eventType, reason, message string) {
	m := obj.(metav1.Object)
	r.events = append(r.events, recordedEvent{strings.TrimPrefix(fmt.Sprintf("%T", obj), "*v1.") + " " + m.GetNamespace() + "/" + m.GetName(), eventType, reason, message})
}

func (r *objectRecorder) Eventf(obj runtime.Object, eventType, reason, format string, args ...any) {
	r.Event(obj, eventType, reason, fmt.Sprintf(format, args...))
}

func (r *objectRecorder) AnnotatedEventf(obj runtime.Object, _ map[string]string, eventType, reason, format string, args ...any) {
	r.Eventf(obj, eventType, reason, format, args...)
}

// A config refused even without any route or listener is reported once on the Gateway.
func TestSyncRecordsAWholeRefusalOnce(t *testing.T) {
	kube, gw := basicObjects()
	rec := record.NewFakeRecorder(10)
	f := newFixtureWith(t, kube, gw, func(_ *fixture, o *Options) { o.Recorder = rec })
	f.pusher.fail = map[string]error{"kengine-a": &kengine.APIError{StatusCode: 400, Message: "loading config: storage is read-only"}}
	for range 2 {
		if err := f.ctrl.syncGateway(f.ctx, gwKey); err != nil {
			t.Fatal(err)
		}
	}
	got := drainEvents(rec)
	if len(got) != 1 || !strings.HasPrefix(got[0], "Warning ConfigRefused Kengine pod kengine-a refused the config, which keeps its last good one") {
		t.Errorf("events %q, want one ConfigRefused", got)
	}
}

// Messages never carry a whole config: only names and Kengine's message, cut to 1 kB.
func TestEventMessagesAreBounded(t *testing.T) {
	rec := record.NewFakeRecorder(1)
	e := newEventReporter(rec, time.Now)
	e.refusedWhole(testobj.Gateway(), gwKey, "a", strings.Repeat("é", 100000))
	got := strings.TrimPrefix(<-rec.Events, "Warning ConfigRefused ")
	if len(got) > maxEventMessage || !utf8.ValidString(got) || !strings.HasSuffix(got, "...") {
		t.Errorf("event message of %d bytes (valid UTF-8: %v), want at most %d ending in ...", len(got), utf8.ValidString(got), maxEventMessage)
	}
}
