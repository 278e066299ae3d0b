package translate

import (
	"fmt"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/ir"
)

// routeRejectedError marks a rule value for which the spec rejects the whole route
// (Accepted=False with reason), not just the rule.
type routeRejectedError struct {
	reason gatewayv1.RouteConditionReason
	msg    string
}

func (e routeRejectedError) Error() string { return e.msg }

// unservableFilters says, for each filter type the API defines and Kengine's standard
// handlers cannot apply, what is missing. HTTPRouteFilter forbids skipping such a filter: the
// requests it would process are answered with 500.
var unservableFilters = map[gatewayv1.HTTPRouteFilterType]string{
	gatewayv1.HTTPRouteFilterRequestMirror: "Kengine's standard handlers cannot mirror requests (reverse_proxy sends each request to one upstream only)",
	gatewayv1.HTTPRouteFilterExtensionRef:  "this controller defines no extension filters, so no extensionRef resolves",
	gatewayv1.HTTPRouteFilterExternalAuth:  "this controller does not implement ExternalAuth",
}

// classifyFilters checks a filter list. It returns why the list holds a filter that cannot be
// applied (so the requests it covers must be answered with 500), or an error that drops the
// rule, or a routeRejectedError: an unknown filter type and forbidden combinations reject the
// route as the spec says.
func classifyFilters(filters []gatewayv1.HTTPRouteFilter) (unservable string, err error) {
	redirect, rewrite := false, false
	for _, f := range filters {
		switch f.Type {
		case gatewayv1.HTTPRouteFilterRequestHeaderModifier:
			if f.RequestHeaderModifier == nil {
				return "", fmt.Errorf("requestHeaderModifier filter without configuration")
			}
		case gatewayv1.HTTPRouteFilterResponseHeaderModifier:
			if f.ResponseHeaderModifier == nil {
				return "", fmt.Errorf("responseHeaderModifier filter without configuration")
			}
		case gatewayv1.HTTPRouteFilterRequestRedirect:
			if f.RequestRedirect == nil {
				return "", fmt.Errorf("requestRedirect filter without configuration")
			}
			redirect = true
		case gatewayv1.HTTPRouteFilterURLRewrite:
			if f.URLRewrite == nil {
				return "", fmt.Errorf("urlRewrite filter without configuration")
			}
			rewrite = true
		case gatewayv1.HTTPRouteFilterCORS:
			if f.CORS == nil {
				return "", fmt.Errorf("cors filter without configuration")
			}
		default:
			why, known := unservableFilters[f.Type]
			if !known {
				return "", routeRejectedError{gatewayv1.RouteReasonUnsupportedValue, fmt.Sprintf("filter type %q is not a Gateway API filter type", f.Type)}
			}
			if unservable == "" {
				unservable = fmt.Sprintf("filter type %q: %s", f.Type, why)
			}
		}
	}
	if redirect && rewrite {
		return "", routeRejectedError{gatewayv1.RouteReasonIncompatibleFilters, "requestRedirect and urlRewrite cannot be used together"}
	}
	return unservable, nil
}

// hasFilter reports whether filters hold one of type ft.
func hasFilter(filters []gatewayv1.HTTPRouteFilter, ft gatewayv1.HTTPRouteFilterType) bool {
	for _, f := range filters {
		if f.Type == ft {
			return true
		}
	}
	return false
}

// checkPrefixRewrites enforces HTTPPathModifier: "ReplacePrefixMatch is only compatible with
// a PathPrefix HTTPRouteMatch. Using any other HTTPRouteMatch type on the same HTTPRouteRule
// will result in the implementation setting the Accepted Condition for the Route to status:
// False", for the rule's filters and its backendRefs' alike. An unknown path modifier type is
// rejected the same way (UnsupportedValue).
func checkPrefixRewrites(rule gatewayv1.HTTPRouteRule, matches []ir.HTTPMatch) error {
	// The rule's filters (i = -1), then each backendRef's.
	for i := -1; i < len(rule.BackendRefs); i++ {
		filters := rule.Filters
		if i >= 0 {
			filters = rule.BackendRefs[i].Filters
		}
		for _, f := range filters {
			var p *gatewayv1.HTTPPathModifier
			switch {
			case f.Type == gatewayv1.HTTPRouteFilterURLRewrite && f.URLRewrite != nil:
				p = f.URLRewrite.Path
			case f.Type == gatewayv1.HTTPRouteFilterRequestRedirect && f.RequestRedirect != nil:
				p = f.RequestRedirect.Path
			}
			if p == nil {
				continue
			}
			switch p.Type {
			case gatewayv1.FullPathHTTPPathModifier:
				continue
			case gatewayv1.PrefixMatchHTTPPathModifier:
			default:
				return routeRejectedError{gatewayv1.RouteReasonUnsupportedValue, fmt.Sprintf("path modifier type %q is not a Gateway API path modifier", p.Type)}
			}
			for mi, m := range matches {
				if m.Path.Kind != ir.PathPrefix {
					return routeRejectedError{gatewayv1.RouteReasonUnsupportedValue,
						fmt.Sprintf("%s filter: replacePrefixMatch needs PathPrefix matches, and match %d is %s", f.Type, mi, m.Path.Kind)}
				}
			}
		}
	}
	return nil
}
