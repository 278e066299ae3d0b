package controller

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
)

// Event reasons. Warnings say what an operator or a route author should look at; the one
// Normal event says that a Gateway that had a Warning converged again. Messages name objects
// and pods and quote Kengine's error (truncated), never Secrets or whole configs.
const (
	// EventConfigRefused (Warning, Gateway): a Kengine pod refused the Gateway's config.
	EventConfigRefused = "ConfigRefused"
	// EventRefusedByKengine (Warning, route): Kengine refused the Gateway's config with this
	// route, which is left out of it until it changes.
	EventRefusedByKengine = "RefusedByKengine"
	// EventPodUnreachable (Warning, Gateway): a Kengine pod could not be programmed for
	// podUnreachableAfter.
	EventPodUnreachable = "PodUnreachable"
	// EventInvalidParameters (Warning, Gateway): the GatewayClass or Gateway infrastructure
	// parameters are invalid; nothing is deployed or pushed.
	EventInvalidParameters = "InvalidParameters"
	// EventProgrammed (Normal, Gateway): every pod runs the config again after a Warning.
	EventProgrammed = "Programmed"
)

// podUnreachableAfter is how long a pod may fail before it is reported in an Event: a pod
// that is starting or stopping is briefly unreachable, which status already says.
const podUnreachableAfter = 30 * time.Second

// eventReporter records Events on Gateways and routes when something changes, not at every
// sync, so that a Gateway retrying with backoff does not repeat itself; the broadcaster's
// spam filter and correlator bound the rest.
type eventReporter struct {
	recorder record.EventRecorder // nil records nothing
	now      func() time.Time

	mu        sync.Mutex
	byGateway map[types.NamespacedName]*gatewayEvents
}

// gatewayEvents is what was reported about one Gateway.
type gatewayEvents struct {
	// warned is set by a Warning on the Gateway and cleared by EventProgrammed.
	warned bool
	// failingSince holds, per pod, when it started failing; reported, the pods already named
	// in an EventPodUnreachable.
	failingSince map[string]time.Time
	reported     map[string]bool
	// parameters and refusal are the last InvalidParameters and whole-config ConfigRefused
	// messages, so that the same one is not recorded again.
	parameters, refusal string
}

func newEventReporter(recorder record.EventRecorder, now func() time.Time) *eventReporter {
	return &eventReporter{recorder: recorder, now: now, byGateway: map[types.NamespacedName]*gatewayEvents{}}
}

func (e *eventReporter) gateway(key types.NamespacedName) *gatewayEvents {
	g := e.byGateway[key]
	if g == nil {
		g = &gatewayEvents{failingSince: map[string]time.Time{}, reported: map[string]bool{}}
		e.byGateway[key] = g
	}
	return g
}

// maxEventMessage bounds an Event's message (events.k8s.io allows 1 kB in its note): an
// Event points at the problem, status and the logs hold the detail.
const maxEventMessage = 1024

func (e *eventReporter) record(obj runtime.Object, eventType, reason, msg string) {
	if e.recorder == nil {
		return
	}
	if len(msg) > maxEventMessage {
		msg = strings.ToValidUTF8(msg[:maxEventMessage-3], "") + "..."
	}
	e.recorder.Event(obj, eventType, reason, msg)
}

// warnOnChange records a Warning on a Gateway unless the last one of its kind, kept in the
// field last selects, was about the same cause.
func (e *eventReporter) warnOnChange(gw runtime.Object, key types.NamespacedName, last func(*gatewayEvents) *string, cause, reason, msg string) {
	e.mu.Lock()
	g := e.gateway(key)
	seen := last(g)
	changed := *seen != cause
	*seen, g.warned = cause, true
	e.mu.Unlock()
	if changed {
		e.record(gw, corev1.EventTypeWarning, reason, msg)
	}
}

// invalidParameters reports a Gateway whose parameters are invalid, once per message.
func (e *eventReporter) invalidParameters(gw runtime.Object, key types.NamespacedName, msg string) {
	e.warnOnChange(gw, key, func(g *gatewayEvents) *string { return &g.parameters }, msg,
		EventInvalidParameters, "Invalid infrastructure parameters; nothing is deployed or pushed: "+msg)
}

// refusedWhole reports a config a pod refused that the controller could not make acceptable
// by leaving out routes or listeners, once per message.
func (e *eventReporter) refusedWhole(gw runtime.Object, key types.NamespacedName, pod, refusal string) {
	e.warnOnChange(gw, key, func(g *gatewayEvents) *string { return &g.refusal }, refusal,
		EventConfigRefused, fmt.Sprintf("Kengine pod %s refused the config, which keeps its last good one: %s", pod, refusal))
}

// refusedObjects reports what an isolation left out: on the Gateway, and on each route left
// out. It is recorded once per isolation, which happens once per change of those objects.
func (e *eventReporter) refusedObjects(gw runtime.Object, key types.NamespacedName, pod string, names []string, routes []runtime.Object, refusal string) {
	e.record(gw, corev1.EventTypeWarning, EventConfigRefused,
		fmt.Sprintf("Kengine pod %s refused the config; left out: %s (%s)", pod, strings.Join(names, ", "), refusal))
	for _, r := range routes {
		e.record(r, corev1.EventTypeWarning, EventRefusedByKengine,
			fmt.Sprintf("Kengine refused the config of Gateway %s with this route; it is left out until it changes: %s", key, refusal))
	}
}

// pushed reports how a push went: pods failing for longer than podUnreachableAfter (named
// once each), and recovery once every pod runs the config after a Warning. failed holds the
// failing pods' names with their errors; rejected pushes are reported by the refusal events.
func (e *eventReporter) pushed(gw runtime.Object, key types.NamespacedName, o pushOutcome) {
	now := e.now()
	e.mu.Lock()
	g := e.gateway(key)
	failing := map[string]string{}
	for _, f := range o.unreachable {
		failing[f.pod] = f.reason
	}
	for pod := range g.failingSince {
		if _, still := failing[pod]; !still {
			delete(g.failingSince, pod)
			delete(g.reported, pod)
		}
	}
	var report []string
	for pod, reason := range failing {
		since, seen := g.failingSince[pod]
		if !seen {
			g.failingSince[pod] = now
			since = now
		}
		if !g.reported[pod] && now.Sub(since) >= podUnreachableAfter {
			g.reported[pod] = true
			report = append(report, pod+": "+reason)
		}
	}
	recovered := g.warned && o.pods > 0 && len(o.failed) == 0
	if recovered {
		g.warned, g.refusal, g.parameters = false, "", ""
	}
	if len(report) > 0 {
		g.warned = true
	}
	e.mu.Unlock()
	if len(report) > 0 {
		sort.Strings(report)
		e.record(gw, corev1.EventTypeWarning, EventPodUnreachable, fmt.Sprintf("Kengine pods not programmed for %s or more (they keep their last config): %s",
			podUnreachableAfter, strings.Join(report, "; ")))
	}
	if recovered {
		e.record(gw, corev1.EventTypeNormal, EventProgrammed, fmt.Sprintf("Config programmed on all %d Kengine pods", o.pods))
	}
}

// forget drops what was reported about a deleted Gateway.
func (e *eventReporter) forget(key types.NamespacedName) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.byGateway, key)
}
