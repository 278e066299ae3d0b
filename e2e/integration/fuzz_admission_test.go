package integration

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Admission: what the API server would refuse. Each check mirrors a marker of
// sigs.k8s.io/gateway-api@v1.6.3/apis/v1 (standard channel; the experimental-only header value
// pattern does not apply), cited beside it. Lengths count characters, as OpenAPI and CEL do.
var (
	// shared_types.go, type Hostname: MinLength=1, MaxLength=253.
	hostnamePattern = regexp.MustCompile(`^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	// shared_types.go, type PreciseHostname: MinLength=1, MaxLength=253.
	preciseHostnamePattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	// shared_types.go, type HeaderName (HTTPHeaderName): MinLength=1, MaxLength=256.
	headerNamePattern = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+\\-.^_\x60|~]+$")
	// httproute_types.go, HTTPPathMatch XValidation "must only contain valid characters".
	pathCharsPattern = regexp.MustCompile(`^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$`)
)

// admissibleString checks one string field. The API server decodes JSON, which holds valid
// UTF-8 only, so every string the fuzz target writes passes through here.
func admissibleString(field, s string, minLen, maxLen int, pattern *regexp.Regexp) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s: %q is not valid UTF-8", field, s)
	}
	if n := utf8.RuneCountInString(s); n < minLen || n > maxLen {
		return fmt.Errorf("%s: length %d not in [%d, %d]", field, n, minLen, maxLen)
	}
	if pattern != nil && !pattern.MatchString(s) {
		return fmt.Errorf("%s: %q does not match %s", field, s, pattern)
	}
	return nil
}

// admissibleGateway returns why the API server would refuse gw, or nil.
func admissibleGateway(gw *gatewayv1.Gateway) error {
	ls := gw.Spec.Listeners
	for _, l := range ls {
		if l.Hostname != nil {
			if err := admissibleString("listener hostname", string(*l.Hostname), 1, 253, hostnamePattern); err != nil {
				return err
			}
		}
		// gateway_types.go, Listener.Port: Minimum=1, Maximum=65535.
		if l.Port < 1 || l.Port > 65535 {
			return fmt.Errorf("listener port %d", l.Port)
		}
	}
	// gateway_types.go, GatewaySpec.Listeners XValidation: "Listener name must be unique within
	// the Gateway" and "Combination of port, protocol and hostname must be unique for each
	// listener". (The TLS rules hold by construction: httpsListener sets mode Terminate and a
	// certificateRef, httpListener no tls.)
	for i := range ls {
		for j := i + 1; j < len(ls); j++ {
			if ls[i].Name == ls[j].Name {
				return fmt.Errorf("listener name %s repeated", ls[i].Name)
			}
			if ls[i].Port == ls[j].Port && ls[i].Protocol == ls[j].Protocol && listenerHostname(ls[i].Hostname) == listenerHostname(ls[j].Hostname) {
				return fmt.Errorf("listeners %s and %s share port, protocol and hostname", ls[i].Name, ls[j].Name)
			}
		}
	}
	return nil
}

func listenerHostname(h *gatewayv1.Hostname) string {
	if h == nil {
		return ""
	}
	return string(*h)
}

// admissibleHTTPRoute returns why the API server would refuse r, or nil. It covers the fields
// the fuzz target sets.
func admissibleHTTPRoute(r *gatewayv1.HTTPRoute) error {
	// HTTPRouteSpec.Hostnames: MaxItems=16.
	if len(r.Spec.Hostnames) > 16 {
		return fmt.Errorf("%d hostnames", len(r.Spec.Hostnames))
	}
	for _, h := range r.Spec.Hostnames {
		if err := admissibleString("route hostname", string(h), 1, 253, hostnamePattern); err != nil {
			return err
		}
	}
	for _, rule := range r.Spec.Rules {
		for _, m := range rule.Matches {
			if err := admissibleMatch(m); err != nil {
				return err
			}
		}
		if err := admissibleFilters(rule.Filters, rule.Matches); err != nil {
			return err
		}
		// HTTPRouteRule XValidation: "RequestRedirect filter must not be used together with
		// backendRefs".
		if len(rule.BackendRefs) > 0 && slices.ContainsFunc(rule.Filters, func(f gatewayv1.HTTPRouteFilter) bool { return f.RequestRedirect != nil }) {
			return errors.New("requestRedirect with backendRefs")
		}
		for _, b := range rule.BackendRefs {
			// BackendRef.Weight: Minimum=0, Maximum=1000000.
			if b.Weight != nil && (*b.Weight < 0 || *b.Weight > 1000000) {
				return fmt.Errorf("weight %d", *b.Weight)
			}
			// HTTPBackendRef.Filters: the same rules as the rule's filters ("Within backendRefs").
			if err := admissibleFilters(b.Filters, rule.Matches); err != nil {
				return err
			}
		}
	}
	return nil
}

func admissibleMatch(m gatewayv1.HTTPRouteMatch) error {
	if p := m.Path; p != nil && p.Value != nil {
		v := *p.Value
		// HTTPPathMatch.Value: MaxLength=1024.
		if err := admissibleString("path", v, 0, 1024, nil); err != nil {
			return err
		}
		// HTTPPathMatch XValidation rules for types Exact and PathPrefix.
		if p.Type != nil && (*p.Type == gatewayv1.PathMatchExact || *p.Type == gatewayv1.PathMatchPathPrefix) {
			switch {
			case !strings.HasPrefix(v, "/"):
				return fmt.Errorf("path %q must start with /", v)
			case strings.Contains(v, "//"), strings.Contains(v, "/./"), strings.Contains(v, "/../"),
				strings.Contains(v, "%2f"), strings.Contains(v, "%2F"), strings.Contains(v, "#"),
				strings.HasSuffix(v, "/.."), strings.HasSuffix(v, "/."):
				return fmt.Errorf("path %q has a forbidden sequence", v)
			case !pathCharsPattern.MatchString(v):
				return fmt.Errorf("path %q has invalid characters", v)
			}
		}
	}
	// HTTPRouteMatch.Headers and QueryParams: MaxItems=16, listType=map keyed by name.
	var names []gatewayv1.HTTPHeaderName
	for _, h := range m.Headers {
		if err := admissibleString("header match name", string(h.Name), 1, 256, headerNamePattern); err != nil {
			return err
		}
		// HTTPHeaderMatch.Value: MinLength=1, MaxLength=4096.
		if err := admissibleString("header match value", h.Value, 1, 4096, nil); err != nil {
			return err
		}
		names = append(names, h.Name)
	}
	if err := admissibleUniqueNames("header match", names); err != nil {
		return err
	}
	names = nil
	for _, q := range m.QueryParams {
		if err := admissibleString("query match name", string(q.Name), 1, 256, headerNamePattern); err != nil {
			return err
		}
		// HTTPQueryParamMatch.Value: MinLength=1, MaxLength=1024.
		if err := admissibleString("query match value", q.Value, 1, 1024, nil); err != nil {
			return err
		}
		names = append(names, q.Name)
	}
	return admissibleUniqueNames("query match", names)
}

// admissibleFilters checks one filter list (a rule's or a backendRef's) and the rules that tie
// it to the rule's matches.
func admissibleFilters(filters []gatewayv1.HTTPRouteFilter, matches []gatewayv1.HTTPRouteMatch) error {
	// HTTPRouteRule.Filters / HTTPBackendRef.Filters: MaxItems=16; each type at most once;
	// "May specify either httpRouteFilterRequestRedirect or httpRouteFilterRequestRewrite, but
	// not both".
	if len(filters) > 16 {
		return fmt.Errorf("%d filters", len(filters))
	}
	seen := map[gatewayv1.HTTPRouteFilterType]bool{}
	prefixReplacements := 0
	for _, f := range filters {
		if seen[f.Type] {
			return fmt.Errorf("filter %s repeated", f.Type)
		}
		seen[f.Type] = true
		var path *gatewayv1.HTTPPathModifier
		var host *gatewayv1.PreciseHostname
		switch f.Type {
		case gatewayv1.HTTPRouteFilterRequestHeaderModifier:
			if err := admissibleHeaderFilter(f.RequestHeaderModifier); err != nil {
				return err
			}
		case gatewayv1.HTTPRouteFilterResponseHeaderModifier:
			if err := admissibleHeaderFilter(f.ResponseHeaderModifier); err != nil {
				return err
			}
		case gatewayv1.HTTPRouteFilterRequestRedirect:
			rd := f.RequestRedirect
			path, host = rd.Path, rd.Hostname
			// HTTPRequestRedirectFilter: Scheme Enum=http;https, Port Minimum=1 Maximum=65535,
			// StatusCode Enum=301;302;303;307;308.
			if rd.Scheme != nil && *rd.Scheme != "http" && *rd.Scheme != "https" {
				return fmt.Errorf("redirect scheme %q", *rd.Scheme)
			}
			if rd.Port != nil && (*rd.Port < 1 || *rd.Port > 65535) {
				return fmt.Errorf("redirect port %d", *rd.Port)
			}
			if rd.StatusCode != nil && !slices.Contains(redirectStatusCodes, *rd.StatusCode) {
				return fmt.Errorf("redirect status %d", *rd.StatusCode)
			}
		case gatewayv1.HTTPRouteFilterURLRewrite:
			path, host = f.URLRewrite.Path, f.URLRewrite.Hostname
		}
		if host != nil {
			if err := admissibleString("filter hostname", string(*host), 1, 253, preciseHostnamePattern); err != nil {
				return err
			}
		}
		if path != nil {
			// HTTPPathModifier: ReplaceFullPath and ReplacePrefixMatch MaxLength=1024; each
			// set exactly when the type names it.
			for _, v := range []*string{path.ReplaceFullPath, path.ReplacePrefixMatch} {
				if v == nil {
					continue
				}
				if err := admissibleString("path modifier", *v, 0, 1024, nil); err != nil {
					return err
				}
			}
			if (path.Type == gatewayv1.FullPathHTTPPathModifier) != (path.ReplaceFullPath != nil) ||
				(path.Type == gatewayv1.PrefixMatchHTTPPathModifier) != (path.ReplacePrefixMatch != nil) {
				return fmt.Errorf("path modifier type %s does not fit its value", path.Type)
			}
			if path.ReplacePrefixMatch != nil {
				prefixReplacements++
			}
		}
	}
	if seen[gatewayv1.HTTPRouteFilterRequestRedirect] && seen[gatewayv1.HTTPRouteFilterURLRewrite] {
		return errors.New("requestRedirect and urlRewrite together")
	}
	// HTTPRouteRule XValidation: "When using RequestRedirect (URLRewrite) filter with
	// path.replacePrefixMatch, exactly one PathPrefix match must be specified".
	if prefixReplacements == 1 {
		if len(matches) != 1 || matches[0].Path == nil || matches[0].Path.Type == nil || *matches[0].Path.Type != gatewayv1.PathMatchPathPrefix {
			return errors.New("replacePrefixMatch without exactly one PathPrefix match")
		}
	}
	return nil
}

func admissibleHeaderFilter(f *gatewayv1.HTTPHeaderFilter) error {
	// HTTPHeaderFilter: Set, Add and Remove MaxItems=16; Set and Add listType=map keyed by
	// name, Remove listType=set; HTTPHeader.Value MinLength=1, MaxLength=4096. Remove entries
	// have no pattern: any string is admitted.
	if len(f.Set) > 16 || len(f.Add) > 16 || len(f.Remove) > 16 {
		return errors.New("too many header modifications")
	}
	for _, list := range [][]gatewayv1.HTTPHeader{f.Set, f.Add} {
		var names []gatewayv1.HTTPHeaderName
		for _, h := range list {
			if err := admissibleString("header modifier name", string(h.Name), 1, 256, headerNamePattern); err != nil {
				return err
			}
			if err := admissibleString("header modifier value", h.Value, 1, 4096, nil); err != nil {
				return err
			}
			names = append(names, h.Name)
		}
		if err := admissibleUniqueNames("header modifier", names); err != nil {
			return err
		}
	}
	for i, r := range f.Remove {
		if err := admissibleString("header removal", r, 0, math.MaxInt, nil); err != nil {
			return err
		}
		if slices.Contains(f.Remove[:i], r) {
			return fmt.Errorf("header removal %q repeated", r)
		}
	}
	return nil
}

func admissibleUniqueNames(what string, names []gatewayv1.HTTPHeaderName) error {
	for i, n := range names {
		if slices.Contains(names[:i], n) {
			return fmt.Errorf("%s name %q repeated", what, n)
		}
	}
	return nil
}
