package translate

import (
	"fmt"
	"sort"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/status"
)

// KindListenerSet is the ListenerSet kind, as a route parent and as a ReferenceGrant source.
const KindListenerSet gatewayv1.Kind = status.KindListenerSet

// ListenerSetListenerRef names a listener of a ListenerSet attached to the translated Gateway.
func ListenerSetListenerRef(namespace, name string, section gatewayv1.SectionName) ObjectRef {
	return ObjectRef{Kind: "Listener", Namespace: namespace, Name: name + "/" + string(section)}
}

// listenerSet is a ListenerSet whose parentRef names the translated Gateway, accepted or not:
// routes that name it as a parent get their status from this Gateway either way.
type listenerSet struct {
	obj *gatewayv1.ListenerSet
	res *status.ListenerSetResult
	// attached is true when the Gateway takes the ListenerSet's listeners into its own list
	// (allowed by allowedListeners, the Gateway accepted), whether or not one is valid.
	attached bool
}

// listenerSetListeners merges the listeners of the ListenerSets allowed on the Gateway after
// own, the Gateway's listeners, and fills every ListenerSet's status except Programmed. The
// order is the specification's precedence: the Gateway first, then ListenerSets by creation
// time, then by namespace/name. A listener that conflicts with one before it in that order
// is refused (Conflicted), and the one before it keeps its place, unlike conflicts among
// the Gateway's own listeners.
func (t *translator) listenerSetListeners(own []*listener) []*listener {
	gw := t.s.Gateway
	gwKey := types.NamespacedName{Namespace: gw.Namespace, Name: gw.Name}
	var sets []*gatewayv1.ListenerSet
	for _, ls := range t.s.ListenerSets {
		if parent, ok := status.ListenerSetParent(ls); ok && parent == gwKey {
			sets = append(sets, ls)
		}
	}
	sort.SliceStable(sets, func(i, j int) bool { return listenerSetFirst(sets[i], sets[j]) })

	claims := portClaims{}
	for _, l := range own {
		// A listener of the Gateway holds its port and hostname even when it conflicts with
		// another of the Gateway's listeners: a ListenerSet cannot win it over.
		if l.attachable || apimeta.IsStatusConditionTrue(l.status.Conditions, string(gatewayv1.ListenerConditionConflicted)) {
			claims.add(l.spec)
		}
	}
	gatewayAccepted := apimeta.IsStatusConditionTrue(t.res.Gateway.Conditions, string(gatewayv1.GatewayConditionAccepted))

	t.res.ListenerSets = make([]status.ListenerSetResult, len(sets))
	t.sets = make(map[types.NamespacedName]*listenerSet, len(sets))
	var out []*listener
	for i, ls := range sets {
		res := &t.res.ListenerSets[i]
		res.ListenerSet = ls
		set := &listenerSet{obj: ls, res: res}
		t.sets[types.NamespacedName{Namespace: ls.Namespace, Name: ls.Name}] = set
		gen := ls.Generation
		if msg := t.listenerSetRefused(ls); msg != "" {
			res.Conditions = []metav1.Condition{status.Condition(gatewayv1.ListenerSetConditionAccepted, false, gatewayv1.ListenerSetReasonNotAllowed, msg, gen)}
			continue
		}
		if !gatewayAccepted {
			res.Conditions = []metav1.Condition{status.Condition(gatewayv1.ListenerSetConditionAccepted, false, gatewayv1.ListenerSetReasonParentNotAccepted,
				"the parent Gateway is not accepted", gen)}
			continue
		}
		set.attached = true
		res.Listeners = make([]gatewayv1.ListenerStatus, len(ls.Spec.Listeners))
		entries := make([]listenerEntry, len(ls.Spec.Listeners))
		for j, e := range ls.Spec.Listeners {
			entries[j] = listenerEntry{spec: listenerOfEntry(e), status: &res.Listeners[j]}
		}
		valid := 0
		for _, l := range t.buildListeners(entries, set, gen, claims.claim) {
			if l.complete {
				valid++
			}
			out = append(out, l)
		}
		accepted := status.Condition(gatewayv1.ListenerSetConditionAccepted, true, gatewayv1.ListenerSetReasonAccepted, "ListenerSet accepted", gen)
		switch {
		case valid == 0:
			accepted = status.Condition(gatewayv1.ListenerSetConditionAccepted, false, gatewayv1.ListenerSetReasonListenersNotValid, "no listener is valid; see their conditions", gen)
		case valid < len(ls.Spec.Listeners):
			accepted = status.Condition(gatewayv1.ListenerSetConditionAccepted, true, gatewayv1.ListenerSetReasonListenersNotValid, "some listeners are not valid; see their conditions", gen)
		}
		res.Conditions = []metav1.Condition{accepted}
		if accepted.Status == metav1.ConditionTrue {
			t.res.Gateway.AttachedListenerSets++
		}
	}
	return out
}

// listenerSetRefused says why the Gateway's allowedListeners refuses a ListenerSet; "" when it
// allows it. Without allowedListeners, a Gateway takes no ListenerSet.
func (t *translator) listenerSetRefused(ls *gatewayv1.ListenerSet) string {
	gw := t.s.Gateway
	al := gw.Spec.AllowedListeners
	if al == nil || al.Namespaces == nil {
		return "the Gateway allows no ListenerSets (spec.allowedListeners)"
	}
	if t.namespaceSelected(al.Namespaces.From, gatewayv1.NamespacesFromNone, al.Namespaces.Selector, gw.Namespace, ls.Namespace) {
		return ""
	}
	switch ptr.Deref(al.Namespaces.From, gatewayv1.NamespacesFromNone) {
	case gatewayv1.NamespacesFromSame:
		return "the Gateway allows ListenerSets from its own namespace only"
	case gatewayv1.NamespacesFromSelector:
		return fmt.Sprintf("the Gateway's allowedListeners selector does not select namespace %s", ls.Namespace)
	}
	return "the Gateway allows no ListenerSets (spec.allowedListeners)"
}

// listenerSetFirst orders ListenerSets by precedence: the older first, then by
// namespace/name.
func listenerSetFirst(a, b *gatewayv1.ListenerSet) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
}

// listenerOfEntry is a ListenerSet's listener as the listener of a Gateway it becomes.
func listenerOfEntry(e gatewayv1.ListenerEntry) gatewayv1.Listener {
	return gatewayv1.Listener{Name: e.Name, Hostname: e.Hostname, Port: e.Port, Protocol: e.Protocol, TLS: e.TLS, AllowedRoutes: e.AllowedRoutes}
}

// portClaims are the ports, protocols and hostnames held by the listeners of higher
// precedence.
type portClaims struct {
	protocols map[string]map[gatewayv1.ProtocolType]bool // by portKey
	hostnames map[string]bool                            // portKey/hostname
}

// add records that a listener holds its port (for its protocol) and hostname.
func (c *portClaims) add(spec gatewayv1.Listener) {
	if c.protocols == nil {
		c.protocols, c.hostnames = map[string]map[gatewayv1.ProtocolType]bool{}, map[string]bool{}
	}
	k := portKey(spec)
	if c.protocols[k] == nil {
		c.protocols[k] = map[gatewayv1.ProtocolType]bool{}
	}
	c.protocols[k][protocolClass(spec.Protocol)] = true
	c.hostnames[k+"/"+listenerHostname(spec)] = true
}

// claim is the listenerConflict of a listener with those of higher precedence. A listener
// without a conflict is accepted (conflicts are checked last), so it claims its port and
// hostname against the listeners after it. The message names no other listener: a
// ListenerSet's author may not see the Gateway or the other ListenerSets.
func (c *portClaims) claim(spec gatewayv1.Listener) (gatewayv1.ListenerConditionReason, string) {
	k := portKey(spec)
	for p := range c.protocols[k] {
		if p != protocolClass(spec.Protocol) {
			return gatewayv1.ListenerReasonProtocolConflict,
				fmt.Sprintf("port %d is used by a listener of another protocol and of higher precedence (the Gateway's, or an older ListenerSet's)", spec.Port)
		}
	}
	if c.hostnames[k+"/"+listenerHostname(spec)] {
		return hostnameConflict(spec, "a", " of higher precedence (the Gateway's, or an older ListenerSet's)")
	}
	c.add(spec)
	return "", ""
}
