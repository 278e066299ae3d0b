package controller

import (
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/status"
)

// servedListenerSetListeners are the listeners the Gateway serves from its ListenerSets, in
// precedence order: a managed Kengine's Service exposes their ports next to the Gateway's.
func servedListenerSetListeners(sets []status.ListenerSetResult) []gatewayv1.Listener {
	var out []gatewayv1.Listener
	for _, res := range sets {
		for _, e := range res.ListenerSet.Spec.Listeners {
			if res.Served[e.Name] {
				out = append(out, gatewayv1.Listener{Name: e.Name, Hostname: e.Hostname, Port: e.Port, Protocol: e.Protocol})
			}
		}
	}
	return out
}
