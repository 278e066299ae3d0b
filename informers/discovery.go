package informers

import (
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/discovery"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Kind names of the Gateway API resources the controller knows how to read.
const (
	KindGatewayClass     = "GatewayClass"
	KindGateway          = "Gateway"
	KindHTTPRoute        = "HTTPRoute"
	KindGRPCRoute        = "GRPCRoute"
	KindTLSRoute         = "TLSRoute"
	KindTCPRoute         = "TCPRoute"
	KindUDPRoute         = "UDPRoute"
	KindReferenceGrant   = "ReferenceGrant"
	KindListenerSet      = "ListenerSet"
	KindBackendTLSPolicy = "BackendTLSPolicy"
)

// requiredKinds cannot be missing: without them there is nothing to reconcile.
var requiredKinds = []string{KindGatewayClass, KindGateway, KindHTTPRoute}

// optionalKinds are started only when the cluster serves them.
var optionalKinds = []string{KindGRPCRoute, KindTLSRoute, KindTCPRoute, KindUDPRoute,
	KindReferenceGrant, KindListenerSet, KindBackendTLSPolicy}

// ServedKinds records which Gateway API kinds (at gateway.networking.k8s.io/v1) the cluster
// serves. Informers are started only for served kinds, so a missing optional CRD never blocks
// cache sync.
type ServedKinds map[string]bool

// Has reports whether kind is served.
func (s ServedKinds) Has(kind string) bool { return s[kind] }

// Missing lists the optional kinds the cluster does not serve, in a stable order.
func (s ServedKinds) Missing() []string {
	var out []string
	for _, k := range optionalKinds {
		if !s[k] {
			out = append(out, k)
		}
	}
	return out
}

// DiscoverServedKinds asks the API server which Gateway API v1 kinds exist. It fails only when a
// required kind is missing or discovery itself fails.
func DiscoverServedKinds(d discovery.DiscoveryInterface) (ServedKinds, error) {
	served := ServedKinds{}
	list, err := d.ServerResourcesForGroupVersion(gatewayv1.GroupVersion.String())
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("discovering %s: the Gateway API CRDs are not installed", gatewayv1.GroupVersion)
		}
		return nil, fmt.Errorf("discovering %s: %w", gatewayv1.GroupVersion, err)
	}
	for _, r := range list.APIResources {
		served[r.Kind] = true
	}
	var missing []error
	for _, k := range requiredKinds {
		if !served[k] {
			missing = append(missing, fmt.Errorf("%s is not served at %s", k, gatewayv1.GroupVersion))
		}
	}
	if len(missing) > 0 {
		return nil, errors.Join(missing...)
	}
	return served, nil
}
