package controller

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/translate"
	"github.com/khulnasoft/gateway/kengine"
)

// Defense in depth. Translate checks every value the way Kengine compiles it, but if a pod
// still refuses a config, one tenant must not stall the Gateway for everybody: the controller
// finds the objects the refusal depends on by loading trial configs on the refusing pod
// (group testing, suspecting first what changed since the last config every pod accepted),
// leaves those objects out with Kengine's message in their status, and pushes the rest. An
// exclusion lasts while the object is unchanged, for at most exclusionRetry; editing it tries it
// again.

// maxIsolationLoads bounds the trial loads one isolation may cost a pod.
const maxIsolationLoads = 48

// errBaseRejected means the config is refused even without any route or listener: there is
// nothing a tenant did to isolate, and the Gateway reports the refusal as it is.
var errBaseRejected = errors.New("the config is refused even without any route or listener")

// fingerprints identifies the content of every object that can be left out, so that an
// exclusion lasts only while its object is unchanged, and so that isolation suspects first
// what changed since the last accepted config.
func fingerprints(s *translate.Snapshot) map[translate.ObjectRef]string {
	out := map[translate.ObjectRef]string{}
	route := func(kind gatewayv1.Kind, r metav1.Object) {
		out[translate.RouteRef(string(kind), r.GetNamespace(), r.GetName())] = string(r.GetUID()) + "/" + strconv.FormatInt(r.GetGeneration(), 10)
	}
	for _, r := range s.Routes() {
		route(translate.RouteKind(r), r)
	}
	gw := s.Gateway
	listener := func(key translate.ObjectRef, obj metav1.Object, home string, tls *gatewayv1.ListenerTLSConfig) {
		fp := []string{string(obj.GetUID()), strconv.FormatInt(obj.GetGeneration(), 10)}
		if tls != nil {
			for _, ref := range tls.CertificateRefs {
				ns := home
				if ref.Namespace != nil && *ref.Namespace != "" {
					ns = string(*ref.Namespace)
				}
				if sec, ok := s.Secrets[types.NamespacedName{Namespace: ns, Name: string(ref.Name)}]; ok {
					fp = append(fp, ns+"/"+sec.Name+"@"+sec.ResourceVersion)
				}
			}
		}
		out[key] = strings.Join(fp, "/")
	}
	for _, l := range gw.Spec.Listeners {
		listener(translate.ListenerRef(l.Name), gw, gw.Namespace, l.TLS)
	}
	for _, ls := range s.ListenerSets {
		for _, l := range ls.Spec.Listeners {
			listener(translate.ListenerSetListenerRef(ls.Namespace, ls.Name, l.Name), ls, ls.Namespace, l.TLS)
		}
	}
	return out
}

// exclusionRetry is how long an unchanged object stays left out before it is tried again: a
// refusal may have had a passing cause (a port still held by an old process), and trying
// again costs one refused load and a few trial loads.
const exclusionRetry = 10 * time.Minute

// exclusion is an object left out of a Gateway's config.
type exclusion struct {
	fingerprint string
	message     string
	until       time.Time
}

// gatewayRejections is what the controller remembers of one Gateway's refused configs.
type gatewayRejections struct {
	// accepted holds the fingerprints of the objects of the last config every pod accepted;
	// nil until one was.
	accepted map[translate.ObjectRef]string
	// excluded are the objects left out, with Kengine's message.
	excluded map[translate.ObjectRef]exclusion
	// noLayer4, when set, says that the pods lack the layer4 app, until noLayer4Until (see
	// layer4.go).
	noLayer4      string
	noLayer4Until time.Time
}

// rejectionMemory keeps gatewayRejections per Gateway.
type rejectionMemory struct {
	mu        sync.Mutex
	byGateway map[types.NamespacedName]*gatewayRejections
}

// excludedFor returns the exclusions of a Gateway that still hold at now: those whose object
// has not changed and that have not expired. The others are forgotten.
func (m *rejectionMemory) excludedFor(gw types.NamespacedName, fps map[translate.ObjectRef]string, now time.Time) map[translate.ObjectRef]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[translate.ObjectRef]string{}
	g := m.byGateway[gw]
	if g == nil {
		return out
	}
	for ref, e := range g.excluded {
		if fps[ref] == e.fingerprint && now.Before(e.until) {
			out[ref] = e.message
		} else {
			delete(g.excluded, ref)
		}
	}
	return out
}

// lastAccepted returns the fingerprints of the last accepted config, or nil.
func (m *rejectionMemory) lastAccepted(gw types.NamespacedName) map[translate.ObjectRef]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if g := m.byGateway[gw]; g != nil {
		return g.accepted
	}
	return nil
}

// recordAccepted remembers the objects of a config every pod accepted.
func (m *rejectionMemory) recordAccepted(gw types.NamespacedName, fps map[translate.ObjectRef]string, excluded map[translate.ObjectRef]string) {
	in := make(map[translate.ObjectRef]string, len(fps))
	for ref, fp := range fps {
		if _, out := excluded[ref]; !out {
			in[ref] = fp
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gateway(gw).accepted = in
}

// recordExcluded remembers newly excluded objects until now+exclusionRetry.
func (m *rejectionMemory) recordExcluded(gw types.NamespacedName, fps map[translate.ObjectRef]string, excluded map[translate.ObjectRef]string, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	g := m.gateway(gw)
	for ref, msg := range excluded {
		g.excluded[ref] = exclusion{fingerprint: fps[ref], message: msg, until: now.Add(exclusionRetry)}
	}
}

// forget drops everything about a deleted Gateway.
func (m *rejectionMemory) forget(gw types.NamespacedName) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.byGateway, gw)
}

func (m *rejectionMemory) gateway(gw types.NamespacedName) *gatewayRejections {
	if m.byGateway == nil {
		m.byGateway = map[types.NamespacedName]*gatewayRejections{}
	}
	g := m.byGateway[gw]
	if g == nil {
		g = &gatewayRejections{excluded: map[translate.ObjectRef]exclusion{}}
		m.byGateway[gw] = g
	}
	return g
}

// trialFunc loads a config without the given objects on one pod. It reports whether the pod
// accepted it and, if not, Kengine's message; an error means the pod could not be asked
// (unreachable, timeout), which stops the isolation.
type trialFunc func(ctx context.Context, excluded map[translate.ObjectRef]string) (ok bool, message string, err error)

// isolateRejection finds objects whose presence makes Kengine refuse the config. base are the
// exclusions already in force; suspects are tried first (what changed since the last accepted
// config), everything else only if leaving the suspects out is not enough. It returns the new
// exclusions with Kengine's message for each.
// refusal is Kengine's message for the whole config, which a lone suspect inherits.
func isolateRejection(ctx context.Context, try trialFunc, refusal string, all []translate.ObjectRef, base map[translate.ObjectRef]string, lastAccepted map[translate.ObjectRef]string, fps map[translate.ObjectRef]string) (map[translate.ObjectRef]string, error) {
	var suspects, rest []translate.ObjectRef
	for _, ref := range all {
		if _, out := base[ref]; out {
			continue
		}
		if fp, ok := lastAccepted[ref]; lastAccepted != nil && ok && fp == fps[ref] {
			rest = append(rest, ref)
		} else {
			suspects = append(suspects, ref)
		}
	}
	loads := 0
	without := func(excl []translate.ObjectRef) map[translate.ObjectRef]string {
		m := make(map[translate.ObjectRef]string, len(base)+len(excl))
		for ref, msg := range base {
			m[ref] = msg
		}
		for _, ref := range excl {
			m[ref] = ""
		}
		return m
	}
	ok, _, err := try(ctx, without(suspects))
	loads++
	if err != nil {
		return nil, err
	}
	if !ok {
		var msg string
		suspects = append(suspects, rest...)
		sortRefs(suspects)
		if ok, msg, err = try(ctx, without(suspects)); err != nil {
			return nil, err
		}
		loads++
		if !ok {
			return nil, fmt.Errorf("%w: %s", errBaseRejected, msg)
		}
	}

	// Adaptive group testing: a group is tried together with every object already known to
	// be fine; a refused group is split until the objects that cannot join are found alone.
	// Listeners go first, with every suspect route left out, because a route only reaches the
	// config through a listener: tried without its listener, a bad route would look fine.
	bad := map[translate.ObjectRef]string{}
	good := map[translate.ObjectRef]bool{}
	if len(suspects) == 1 {
		// The config with it was refused and the config without it was not.
		bad[suspects[0]] = refusal
		return bad, nil
	}
	var listeners, routes []translate.ObjectRef
	for _, ref := range suspects {
		if ref.Kind == translate.ListenerRef("").Kind {
			listeners = append(listeners, ref)
		} else {
			routes = append(routes, ref)
		}
	}
	for _, phase := range [][]translate.ObjectRef{listeners, routes} {
		groups := [][]translate.ObjectRef{phase}
		for len(groups) > 0 {
			g := groups[0]
			groups = groups[1:]
			if len(g) == 0 {
				continue
			}
			if loads >= maxIsolationLoads {
				// Out of budget: leave the untested ones out rather than stall the Gateway.
				for _, ref := range g {
					bad[ref] = "left out untested: Kengine refused the Gateway's config and the search for the cause ran out of attempts"
				}
				continue
			}
			inGroup := map[translate.ObjectRef]bool{}
			for _, ref := range g {
				inGroup[ref] = true
			}
			var excl []translate.ObjectRef
			for _, ref := range suspects {
				if !good[ref] && !inGroup[ref] {
					excl = append(excl, ref)
				}
			}
			ok, msg, err := try(ctx, without(excl))
			loads++
			if err != nil {
				return nil, err
			}
			switch {
			case ok:
				for _, ref := range g {
					good[ref] = true
				}
			case len(g) == 1:
				bad[g[0]] = msg
			default:
				half := len(g) / 2
				groups = append([][]translate.ObjectRef{g[:half], g[half:]}, groups...)
			}
		}
	}
	return bad, nil
}

func sortRefs(refs []translate.ObjectRef) {
	sort.Slice(refs, func(i, j int) bool {
		a, b := refs[i], refs[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
}

// candidateRefs lists the objects of a snapshot in a stable order.
func candidateRefs(fps map[translate.ObjectRef]string) []translate.ObjectRef {
	out := make([]translate.ObjectRef, 0, len(fps))
	for ref := range fps {
		out = append(out, ref)
	}
	sortRefs(out)
	return out
}

// rejectionMessage extracts Kengine's message from a push error.
func rejectionMessage(err error) (string, bool) {
	var apiErr *kengine.APIError
	if errors.As(err, &apiErr) && apiErr.StatusCode >= 400 && apiErr.StatusCode < 500 {
		return apiErr.Message, true
	}
	return "", false
}
