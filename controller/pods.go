package controller

import (
	"sort"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/status"
	"github.com/khulnasoft/gateway/kengine"
)

// dataPlane is what the controller knows about a Gateway's Kengine pods.
type dataPlane struct {
	// services are the Services labelled with the Gateway's name.
	services []*corev1.Service
	// endpoints are every pod behind those Services, ready or not: a pod must be programmed
	// before it can become ready.
	endpoints []kengine.Endpoint
	// ready holds the endpoints the EndpointSlices report ready: the Service (and the load
	// balancer in front of it) sends traffic to these only.
	ready map[kengine.Endpoint]bool
	// addresses come from the Services' load-balancer status.
	addresses []gatewayv1.GatewayStatusAddress
}

// status summarises the data plane and a push for the Gateway's Programmed condition.
func (dp *dataPlane) status(outcome pushOutcome) status.DataPlane {
	return status.DataPlane{
		HasService: len(dp.services) > 0,
		Addresses:  dp.addresses,
		Pods:       outcome.pods,
		Ready:      len(dp.ready),
		Failed:     outcome.failed,
		Refused:    outcome.rejected,
	}
}

// findDataPlane reads the Gateway's Kengine Services and their EndpointSlices from the cache.
func (c *Controller) findDataPlane(gw types.NamespacedName) (*dataPlane, error) {
	services, err := c.informers.KengineServicesForGateway(gw)
	if err != nil {
		return nil, err
	}
	dp := &dataPlane{ready: map[kengine.Endpoint]bool{}}
	seenEP := map[string]bool{}
	seenAddr := map[string]bool{}
	for _, nn := range services {
		svc, err := c.informers.Services.Services(nn.Namespace).Get(nn.Name)
		if apierrors.IsNotFound(err) {
			continue // deleted since the index was read
		}
		if err != nil {
			return nil, err
		}
		dp.services = append(dp.services, svc)
		for _, ing := range svc.Status.LoadBalancer.Ingress {
			addr := gatewayv1.GatewayStatusAddress{}
			switch {
			case ing.IP != "":
				t := gatewayv1.IPAddressType
				addr.Type, addr.Value = &t, ing.IP
			case ing.Hostname != "":
				t := gatewayv1.HostnameAddressType
				addr.Type, addr.Value = &t, ing.Hostname
			default:
				continue
			}
			if !seenAddr[addr.Value] {
				seenAddr[addr.Value] = true
				dp.addresses = append(dp.addresses, addr)
			}
		}
		sel := labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: nn.Name})
		slices, err := c.informers.EndpointSlices.EndpointSlices(nn.Namespace).List(sel)
		if err != nil {
			return nil, err
		}
		for _, e := range kengineEndpoints(slices) {
			if k := e.Address + "/" + e.UID; !seenEP[k] {
				seenEP[k] = true
				dp.endpoints = append(dp.endpoints, e.Endpoint)
			}
			if e.ready {
				dp.ready[e.Endpoint] = true
			}
		}
	}
	sort.Slice(dp.endpoints, func(i, j int) bool {
		if dp.endpoints[i].Pod != dp.endpoints[j].Pod {
			return dp.endpoints[i].Pod < dp.endpoints[j].Pod
		}
		return dp.endpoints[i].Address < dp.endpoints[j].Address
	})
	return dp, nil
}

// sliceEndpoint is a Kengine pod as an EndpointSlice lists it.
type sliceEndpoint struct {
	kengine.Endpoint
	// ready is the slice's Ready condition (unset means ready, as the EndpointSlice API says).
	ready bool
}

// kengineEndpoints lists every endpoint of the slices, whatever its readiness, except those
// already terminating: a pod on its way out needs no new config.
func kengineEndpoints(slices []*discoveryv1.EndpointSlice) []sliceEndpoint {
	var out []sliceEndpoint
	for _, s := range slices {
		if s.AddressType != discoveryv1.AddressTypeIPv4 && s.AddressType != discoveryv1.AddressTypeIPv6 {
			continue
		}
		for _, e := range s.Endpoints {
			if e.Conditions.Terminating != nil && *e.Conditions.Terminating {
				continue
			}
			if len(e.Addresses) == 0 {
				continue
			}
			ep := kengine.Endpoint{Address: e.Addresses[0], Namespace: s.Namespace}
			if e.TargetRef != nil {
				ep.Pod, ep.UID = e.TargetRef.Name, string(e.TargetRef.UID)
				if e.TargetRef.Namespace != "" {
					ep.Namespace = e.TargetRef.Namespace
				}
			}
			out = append(out, sliceEndpoint{Endpoint: ep, ready: e.Conditions.Ready == nil || *e.Conditions.Ready})
		}
	}
	return out
}
