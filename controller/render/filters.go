package render

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/khulnasoft/gateway/controller/ir"
	"github.com/khulnasoft/gateway/kengine"
)

// filterHandlers renders a route's filters in order. proxyHeaders are what the reverse proxy
// must set upstream (a rewritten Host); only forwarding uses them.
func filterHandlers(filters []ir.HTTPFilter) (handlers []kengine.Handler, proxyHeaders *kengine.ReverseProxyHeaders, err error) {
	for i, f := range filters {
		switch {
		case f.RequestHeaders != nil:
			ops, err := headerOps(f.RequestHeaders)
			if err != nil {
				return nil, nil, fmt.Errorf("filter %d: request headers: %w", i, err)
			}
			handlers = append(handlers, kengine.Headers{Request: ops})
		case f.ResponseHeaders != nil:
			ops, err := headerOps(f.ResponseHeaders)
			if err != nil {
				return nil, nil, fmt.Errorf("filter %d: response headers: %w", i, err)
			}
			// Deferred: the edits apply to the response the backend writes, not before it.
			handlers = append(handlers, kengine.Headers{Response: &kengine.RespHeaderOps{HeaderOps: ops, Deferred: true}})
		case f.Rewrite != nil:
			rw, err := pathRewrite(f.Rewrite.Path)
			if err != nil {
				return nil, nil, fmt.Errorf("filter %d: %w", i, err)
			}
			if rw != nil {
				handlers = append(handlers, *rw)
			}
			if f.Rewrite.Hostname != "" {
				host, err := kengine.EscapeHeaderValue(f.Rewrite.Hostname)
				if err != nil {
					return nil, nil, fmt.Errorf("filter %d: hostname rewrite: %w", i, err)
				}
				proxyHeaders = &kengine.ReverseProxyHeaders{Request: &kengine.HeaderOps{Set: map[string][]string{"Host": {host}}}}
			}
		case f.CORS != nil:
			h, err := corsHandler(f.CORS)
			if err != nil {
				return nil, nil, fmt.Errorf("filter %d: %w", i, err)
			}
			handlers = append(handlers, h)
		default:
			return nil, nil, fmt.Errorf("filter %d sets no edit", i)
		}
	}
	return handlers, proxyHeaders, nil
}

// headerOps renders header edits; every name and value goes through the escaper of its
// context, so that it keeps its literal meaning (no placeholder, no wildcard).
func headerOps(e *ir.HeaderEdits) (*kengine.HeaderOps, error) {
	ops := &kengine.HeaderOps{}
	for _, h := range e.Set {
		name, value, err := escapeHeader(h)
		if err != nil {
			return nil, err
		}
		if ops.Set == nil {
			ops.Set = map[string][]string{}
		}
		ops.Set[name] = []string{value}
	}
	for _, h := range e.Add {
		name, value, err := escapeHeader(h)
		if err != nil {
			return nil, err
		}
		if ops.Add == nil {
			ops.Add = map[string][]string{}
		}
		ops.Add[name] = append(ops.Add[name], value)
	}
	for _, n := range e.Remove {
		name, err := kengine.EscapeDeletedHeaderName(n)
		if err != nil {
			return nil, err
		}
		ops.Delete = append(ops.Delete, name)
	}
	return ops, nil
}

func escapeHeader(h ir.Header) (name, value string, err error) {
	if name, err = kengine.EscapeHeaderName(h.Name); err != nil {
		return "", "", err
	}
	if value, err = kengine.EscapeHeaderValue(h.Value); err != nil {
		return "", "", err
	}
	return name, value, nil
}

// pathRewrite renders a path rewrite as a path_regexp rewrite, which changes only the path
// (the query string stays) and sends the new path as written, with what a path cannot carry
// percent-encoded (kengine.PathToWire). A nil rewrite renders nothing.
func pathRewrite(p *ir.PathRewrite) (*kengine.Rewrite, error) {
	if p == nil {
		return nil, nil
	}
	if !p.ReplacePrefix {
		full, err := kengine.EscapePathRegexpReplacement(kengine.PathToWire(p.Replacement))
		if err != nil {
			return nil, fmt.Errorf("full path rewrite: %w", err)
		}
		return &kengine.Rewrite{PathRegexp: []kengine.RegexReplacement{{Find: "^.*$", Replace: full}}}, nil
	}
	// The root prefix is "" ("/" is trimmed to it, as a prefix match trims it): it matches
	// every path.
	prefix := strings.TrimSuffix(p.Prefix, "/")
	replacement, err := kengine.EscapePathRegexpReplacement(kengine.PathToWire(strings.TrimSuffix(p.Replacement, "/")))
	if err != nil {
		return nil, fmt.Errorf("prefix rewrite: %w", err)
	}
	// "/prefix" + rest becomes replacement + rest; rest is empty or starts with "/". An empty
	// result is the root path.
	return &kengine.Rewrite{PathRegexp: []kengine.RegexReplacement{
		{Find: "^" + regexp.QuoteMeta(prefix) + "(/.*)?$", Replace: replacement + "$1"},
		{Find: "^$", Replace: "/"},
	}}, nil
}

// redirectHandlers renders a redirect: an optional path rewrite, then a response whose
// Location is built from the rewritten URI. Translate already chose the port; zero leaves it
// out.
func redirectHandlers(rd *ir.Redirect) ([]kengine.Handler, error) {
	if rd.StatusCode < 300 || rd.StatusCode > 399 {
		return nil, fmt.Errorf("redirect status %d is not a redirection", rd.StatusCode)
	}
	if rd.Scheme != "http" && rd.Scheme != "https" {
		return nil, fmt.Errorf("redirect scheme %q is neither http nor https", rd.Scheme)
	}
	if rd.Port < 0 || rd.Port > 65535 {
		return nil, fmt.Errorf("redirect port %d out of range", rd.Port)
	}
	var out []kengine.Handler
	rw, err := pathRewrite(rd.Path)
	if err != nil {
		return nil, fmt.Errorf("redirect: %w", err)
	}
	if rw != nil {
		out = append(out, *rw)
	}
	host := "{http.request.host}"
	if rd.Hostname != "" {
		if host, err = kengine.EscapeHeaderValue(rd.Hostname); err != nil {
			return nil, fmt.Errorf("redirect hostname: %w", err)
		}
	}
	location := rd.Scheme + "://" + host
	if rd.Port != 0 {
		location += ":" + strconv.Itoa(rd.Port)
	}
	location += "{http.request.uri}"
	return append(out, kengine.StaticResponse{
		StatusCode: kengine.WeakString(strconv.Itoa(rd.StatusCode)),
		Headers:    map[string][]string{"Location": {location}},
	}), nil
}
