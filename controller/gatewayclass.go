package controller

import (
	"context"
	"errors"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/gateway-api/pkg/features"

	"github.com/khulnasoft/gateway/controller/managed"
	"github.com/khulnasoft/gateway/controller/status"
	"github.com/khulnasoft/gateway/informers"
)

var everything = labels.Everything()

// SupportedFeatures are the Gateway API features this controller implements and proves with
// tests that send real traffic through Kengine. GatewayClass status advertises exactly these.
var SupportedFeatures = []features.FeatureName{
	features.SupportGateway,
	features.SupportHTTPRoute,
	features.SupportReferenceGrant,
	features.SupportHTTPRouteQueryParamMatching,
	features.SupportHTTPRouteMethodMatching,
	features.SupportHTTPRouteResponseHeaderModification,
	features.SupportHTTPRoutePortRedirect,
	features.SupportHTTPRouteSchemeRedirect,
	features.SupportHTTPRoutePathRedirect,
	features.SupportHTTPRouteHostRewrite,
	features.SupportHTTPRoutePathRewrite,
	features.SupportHTTPRoute303RedirectStatusCode,
	features.SupportHTTPRoute307RedirectStatusCode,
	features.SupportHTTPRoute308RedirectStatusCode,
	features.SupportHTTPRouteParentRefPort,
	features.SupportHTTPRouteDestinationPortMatching,
	features.SupportHTTPRouteBackendProtocolH2C,
	features.SupportHTTPRouteBackendProtocolWebSocket,
	features.SupportHTTPRouteRequestTimeout,
	features.SupportHTTPRouteBackendTimeout,
	features.SupportHTTPRouteNamedRouteRule,
	features.SupportHTTPRouteBackendRequestHeaderModification,
	features.SupportHTTPRouteRetry,
	features.SupportHTTPRouteRetryConnectionError,
	features.SupportHTTPRouteRetryBackendTimeout,
	features.SupportHTTPRouteCORS,
	features.SupportGatewayPort8080,
	features.SupportGatewayHTTPListenerIsolation,
	features.SupportGatewayHTTPSListenerDetectMisdirectedRequests,
	features.SupportGatewayFrontendClientCertificateValidation,
	features.SupportGatewayFrontendClientCertificateValidationInsecureFallback,
	features.SupportGatewayInfrastructure,
	features.SupportGatewayStaticAddresses,
	features.SupportGatewayAddressEmpty,
	features.SupportListenerSet,
	features.SupportGRPCRoute,
	features.SupportGRPCRouteNamedRouteRule,
	features.SupportTLSRoute,
	features.SupportTLSRouteModeTerminate,
	features.SupportTLSRouteModeMixed,
	features.SupportTCPRoute,
	features.SupportUDPRoute,
	features.SupportBackendTLSPolicy,
}

// featureKinds are the optional kinds some features need: a feature is offered only where the
// cluster serves its kind (without the ReferenceGrant CRD, no cross-namespace reference can
// be granted; without the GRPCRoute CRD, there is no GRPCRoute to serve; and so on).
var featureKinds = map[features.FeatureName]string{
	features.SupportReferenceGrant:          informers.KindReferenceGrant,
	features.SupportGRPCRoute:               informers.KindGRPCRoute,
	features.SupportGRPCRouteNamedRouteRule: informers.KindGRPCRoute,
	features.SupportTLSRoute:                informers.KindTLSRoute,
	features.SupportTLSRouteModeTerminate:   informers.KindTLSRoute,
	features.SupportTLSRouteModeMixed:       informers.KindTLSRoute,
	features.SupportTCPRoute:                informers.KindTCPRoute,
	features.SupportUDPRoute:                informers.KindUDPRoute,
	features.SupportBackendTLSPolicy:        informers.KindBackendTLSPolicy,
	features.SupportListenerSet:             informers.KindListenerSet,
}

// supportedFeatures lists the implemented features the cluster lets us offer (featureKinds).
func (c *Controller) supportedFeatures() []gatewayv1.SupportedFeature {
	out := make([]gatewayv1.SupportedFeature, 0, len(SupportedFeatures))
	for _, f := range SupportedFeatures {
		if kind, ok := featureKinds[f]; ok && !c.informers.Served.Has(kind) {
			continue
		}
		out = append(out, gatewayv1.SupportedFeature{Name: gatewayv1.FeatureName(f)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ownsClass reports whether a GatewayClass belongs to this controller.
func (c *Controller) ownsClass(gc *gatewayv1.GatewayClass) bool {
	return string(gc.Spec.ControllerName) == c.opts.ControllerName
}

// syncGatewayClass accepts a GatewayClass of ours and publishes the supported features.
func (c *Controller) syncGatewayClass(ctx context.Context, name string) error {
	gc, err := c.informers.GatewayClasses.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if !c.ownsClass(gc) {
		return nil
	}
	accepted := status.Condition(gatewayv1.GatewayClassConditionStatusAccepted, true, gatewayv1.GatewayClassReasonAccepted, "handled by "+c.opts.ControllerName, gc.Generation)
	var perr *managed.ParametersError
	if _, err := c.managed.ClassParameters(gc); errors.As(err, &perr) {
		accepted = status.Condition(gatewayv1.GatewayClassConditionStatusAccepted, false, gatewayv1.GatewayClassReasonInvalidParameters, perr.Error(), gc.Generation)
	} else if err != nil {
		return err
	}
	desired := []metav1.Condition{
		accepted,
		status.Condition(gatewayv1.GatewayClassConditionStatusSupportedVersion, true, gatewayv1.GatewayClassReasonSupportedVersion, "Gateway API v1.6 is supported", gc.Generation),
	}
	return c.status.WriteGatewayClass(ctx, gc, desired, c.supportedFeatures())
}
