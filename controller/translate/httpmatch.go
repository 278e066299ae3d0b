package translate

import (
	"fmt"
	"net/http"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/ir"
	"github.com/khulnasoft/gateway/kengine"
)

// Validation equals compilation: every value below is checked with the function render writes
// it with (the kengine escapers, kengine.WholeValueRegexp), so a value translate accepts is a
// value render can write and Kengine compiles.

// httpMatch validates a normalized match and resolves it into the model's terms.
func httpMatch(m gatewayv1.HTTPRouteMatch) (ir.HTTPMatch, error) {
	var out ir.HTTPMatch
	value := *m.Path.Value
	switch *m.Path.Type {
	case gatewayv1.PathMatchExact:
		out.Path = ir.PathMatch{Kind: ir.PathExact, Value: value}
	case gatewayv1.PathMatchPathPrefix:
		// Prefixes match whole segments, and a trailing "/" does not change that.
		out.Path = ir.PathMatch{Kind: ir.PathPrefix, Value: strings.TrimSuffix(value, "/")}
	case gatewayv1.PathMatchRegularExpression:
		if err := checkRegexpCost(kengine.WholeValueRegexp(value)); err != nil {
			return out, fmt.Errorf("path regular expression: %v", err)
		}
		out.Path = ir.PathMatch{Kind: ir.PathRegex, Value: value}
	default:
		return out, fmt.Errorf("path match type %q is not supported", *m.Path.Type)
	}
	seen := map[string]bool{}
	for _, h := range m.Headers {
		name := http.CanonicalHeaderKey(string(h.Name))
		regex := h.Type != nil && *h.Type == gatewayv1.HeaderMatchRegularExpression
		if regex {
			if err := checkRegexpCost(kengine.WholeValueRegexp(h.Value)); err != nil {
				return out, fmt.Errorf("header %s regular expression: %v", h.Name, err)
			}
		}
		if seen[name] {
			continue // the spec ignores every match after the first for one header name
		}
		seen[name] = true
		out.Headers = append(out.Headers, ir.StringMatch{Name: name, Regex: regex, Value: h.Value})
	}
	clear(seen)
	for _, q := range m.QueryParams {
		if q.Type != nil && *q.Type != gatewayv1.QueryParamMatchExact {
			return out, fmt.Errorf("query parameter match type %q is not supported", *q.Type)
		}
		if _, err := kengine.EscapeQueryName(string(q.Name)); err != nil {
			return out, err
		}
		if _, err := kengine.EscapeQueryValue(q.Value); err != nil {
			return out, err
		}
		if seen[string(q.Name)] {
			continue
		}
		seen[string(q.Name)] = true
		out.Query = append(out.Query, ir.StringMatch{Name: string(q.Name), Value: q.Value})
	}
	if m.Method != nil {
		out.Method = string(*m.Method)
	}
	return out, nil
}

// httpFilters validates a rule's filters (with a single backend's own appended) and resolves
// them, in order, into the model. A RequestRedirect ends the list: it is returned on its own,
// with its path rewrite, because its scheme and port depend on the listener.
func httpFilters(filters []gatewayv1.HTTPRouteFilter, match ir.HTTPMatch) ([]ir.HTTPFilter, *gatewayv1.HTTPRequestRedirectFilter, *ir.PathRewrite, error) {
	var out []ir.HTTPFilter
	for _, f := range filters {
		switch f.Type {
		case gatewayv1.HTTPRouteFilterRequestHeaderModifier:
			edits, err := headerEdits(f.RequestHeaderModifier)
			if err != nil {
				return nil, nil, nil, err
			}
			out = append(out, ir.HTTPFilter{RequestHeaders: edits})
		case gatewayv1.HTTPRouteFilterResponseHeaderModifier:
			edits, err := headerEdits(f.ResponseHeaderModifier)
			if err != nil {
				return nil, nil, nil, err
			}
			out = append(out, ir.HTTPFilter{ResponseHeaders: edits})
		case gatewayv1.HTTPRouteFilterRequestRedirect:
			rd := f.RequestRedirect
			path, err := pathRewrite(match, rd.Path)
			if err != nil {
				return nil, nil, nil, err
			}
			if rd.Hostname != nil {
				if _, err := kengine.EscapeHeaderValue(string(*rd.Hostname)); err != nil {
					return nil, nil, nil, fmt.Errorf("requestRedirect hostname: %w", err)
				}
			}
			if rd.Scheme != nil {
				if _, err := kengine.EscapeHeaderValue(*rd.Scheme); err != nil {
					return nil, nil, nil, fmt.Errorf("requestRedirect scheme: %w", err)
				}
			}
			return out, rd, path, nil
		case gatewayv1.HTTPRouteFilterURLRewrite:
			path, err := pathRewrite(match, f.URLRewrite.Path)
			if err != nil {
				return nil, nil, nil, err
			}
			rw := &ir.Rewrite{Path: path}
			if f.URLRewrite.Hostname != nil {
				if _, err := kengine.EscapeHeaderValue(string(*f.URLRewrite.Hostname)); err != nil {
					return nil, nil, nil, fmt.Errorf("urlRewrite hostname: %w", err)
				}
				rw.Hostname = string(*f.URLRewrite.Hostname)
			}
			if rw.Path != nil || rw.Hostname != "" {
				out = append(out, ir.HTTPFilter{Rewrite: rw})
			}
		case gatewayv1.HTTPRouteFilterCORS:
			cors, err := corsPolicy(f.CORS)
			if err != nil {
				return nil, nil, nil, err
			}
			out = append(out, ir.HTTPFilter{CORS: cors})
		}
	}
	return out, nil, nil, nil
}

// headerEdits validates a header filter: every name and value must be writable literally by
// the escaper of its context.
func headerEdits(f *gatewayv1.HTTPHeaderFilter) (*ir.HeaderEdits, error) {
	out := &ir.HeaderEdits{}
	for _, h := range f.Set {
		if err := checkHeader(h); err != nil {
			return nil, err
		}
		out.Set = append(out.Set, ir.Header{Name: string(h.Name), Value: h.Value})
	}
	for _, h := range f.Add {
		if err := checkHeader(h); err != nil {
			return nil, err
		}
		out.Add = append(out.Add, ir.Header{Name: string(h.Name), Value: h.Value})
	}
	for _, n := range f.Remove {
		if _, err := kengine.EscapeDeletedHeaderName(n); err != nil {
			return nil, err
		}
		out.Remove = append(out.Remove, n)
	}
	return out, nil
}

func checkHeader(h gatewayv1.HTTPHeader) error {
	if _, err := kengine.EscapeHeaderName(string(h.Name)); err != nil {
		return err
	}
	_, err := kengine.EscapeHeaderValue(h.Value)
	return err
}

// pathRewrite validates an HTTPPathModifier and resolves it against the match: a prefix
// replacement replaces the prefix the match admitted, so it needs a PathPrefix match.
func pathRewrite(match ir.HTTPMatch, p *gatewayv1.HTTPPathModifier) (*ir.PathRewrite, error) {
	if p == nil {
		return nil, nil
	}
	switch p.Type {
	case gatewayv1.FullPathHTTPPathModifier:
		if p.ReplaceFullPath == nil {
			return nil, nil
		}
		if _, err := kengine.EscapePathRegexpReplacement(kengine.PathToWire(*p.ReplaceFullPath)); err != nil {
			return nil, fmt.Errorf("replaceFullPath: %w", err)
		}
		return &ir.PathRewrite{Replacement: *p.ReplaceFullPath}, nil
	case gatewayv1.PrefixMatchHTTPPathModifier:
		if p.ReplacePrefixMatch == nil {
			return nil, nil
		}
		if match.Path.Kind != ir.PathPrefix {
			return nil, fmt.Errorf("replacePrefixMatch needs a PathPrefix match, and the match is %s", match.Path.Kind)
		}
		replacement := strings.TrimSuffix(*p.ReplacePrefixMatch, "/")
		if _, err := kengine.EscapePathRegexpReplacement(kengine.PathToWire(replacement)); err != nil {
			return nil, fmt.Errorf("replacePrefixMatch: %w", err)
		}
		return &ir.PathRewrite{ReplacePrefix: true, Prefix: match.Path.Value, Replacement: replacement}, nil
	}
	return nil, fmt.Errorf("path modifier type %q is not supported", p.Type)
}

// resolveRedirect completes a RequestRedirect for a listener. Ports follow the spec: an
// explicit port, else the scheme's well-known port when the scheme is set, else the listener's
// port; the port is left out of the Location when it is the scheme's default.
func resolveRedirect(f *gatewayv1.HTTPRequestRedirectFilter, path *ir.PathRewrite, listenerPort int, listenerTLS bool) *ir.Redirect {
	out := &ir.Redirect{Scheme: "http", Port: listenerPort, Path: path, StatusCode: http.StatusFound}
	if listenerTLS {
		out.Scheme = "https"
	}
	if f.Scheme != nil {
		out.Scheme = *f.Scheme
		switch out.Scheme {
		case "http":
			out.Port = 80
		case "https":
			out.Port = 443
		}
	}
	if f.Port != nil {
		out.Port = int(*f.Port)
	}
	if (out.Scheme == "http" && out.Port == 80) || (out.Scheme == "https" && out.Port == 443) {
		out.Port = 0
	}
	if f.Hostname != nil {
		out.Hostname = string(*f.Hostname)
	}
	if f.StatusCode != nil {
		out.StatusCode = *f.StatusCode
	}
	return out
}

// precedence orders a match among the others of its host, by the HTTPRoute match precedence
// of the Gateway API (see less).
type precedence struct {
	pathRank, pathLength int
	method               bool
	headers, query       int
	tieBreak
}

// tieBreak orders matches that every precedence rule of their kind finds equal, the same way
// for every route kind: the oldest route first, then the route first by namespace and name,
// then the first rule and match in list order.
type tieBreak struct {
	created               metav1.Time
	namespace, name       string
	ruleIndex, matchIndex int
}

// tieBreakOf is the tie-break of match mi of rule ri of a route.
func tieBreakOf(m *metav1.ObjectMeta, ri, mi int) tieBreak {
	return tieBreak{created: m.CreationTimestamp, namespace: m.Namespace, name: m.Name, ruleIndex: ri, matchIndex: mi}
}

func (a *tieBreak) less(b *tieBreak) bool {
	if !a.created.Equal(&b.created) {
		return a.created.Before(&b.created)
	}
	if a.namespace != b.namespace {
		return a.namespace < b.namespace
	}
	if a.name != b.name {
		return a.name < b.name
	}
	if a.ruleIndex != b.ruleIndex {
		return a.ruleIndex < b.ruleIndex
	}
	return a.matchIndex < b.matchIndex
}

// precedenceOf computes the key of a normalized match m, resolved as resolved: header and
// query matches count once per name, since the spec ignores repeated names.
func precedenceOf(m gatewayv1.HTTPRouteMatch, resolved ir.HTTPMatch, r *gatewayv1.HTTPRoute, rule, match int) precedence {
	rank := 2
	switch *m.Path.Type {
	case gatewayv1.PathMatchExact:
		rank = 0
	case gatewayv1.PathMatchPathPrefix:
		rank = 1
	}
	return precedence{
		pathRank: rank, pathLength: len(*m.Path.Value), method: m.Method != nil,
		headers: len(resolved.Headers), query: len(resolved.Query),
		tieBreak: tieBreakOf(&r.ObjectMeta, rule, match),
	}
}

// less orders by the precedence of the Gateway API: Exact path, then the longest prefix
// (regular expressions after prefixes, longest first, which the spec leaves to
// implementations), then a method match, then the most header matches, then the most query
// parameter matches; ties go to the oldest route, then to the route first by
// "namespace/name", then to the first rule and match in list order.
func (a *precedence) less(b *precedence) bool {
	if a.pathRank != b.pathRank {
		return a.pathRank < b.pathRank
	}
	if a.pathLength != b.pathLength {
		return a.pathLength > b.pathLength
	}
	if a.method != b.method {
		return a.method
	}
	if a.headers != b.headers {
		return a.headers > b.headers
	}
	if a.query != b.query {
		return a.query > b.query
	}
	return a.tieBreak.less(&b.tieBreak)
}
