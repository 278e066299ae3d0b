package translate

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/ir"
	"github.com/khulnasoft/gateway/kengine"
)

// corsOriginSyntax is the CORSOrigin syntax the API validates (besides "*" alone): a scheme,
// then "*" or DNS labels optionally behind "*.", then an optional port. Nothing else reaches
// the model, so the origin matchers render builds from it hold only literal DNS characters.
var corsOriginSyntax = regexp.MustCompile(`^(https?)://(\*|(?:\*\.)?(?:[a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+)(?::([0-9]{1,5}))?$`)

// corsMethods are the methods allowMethods may list (HTTPMethodWithWildcard).
var corsMethods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}

// corsDefaultMaxAge is the API's default for maxAge, in seconds.
const corsDefaultMaxAge = 5

// corsPolicy validates a CORS filter and resolves it into the model.
func corsPolicy(f *gatewayv1.HTTPCORSFilter) (*ir.CORS, error) {
	out := &ir.CORS{MaxAge: corsDefaultMaxAge, AllowCredentials: f.AllowCredentials != nil && *f.AllowCredentials}
	for _, o := range f.AllowOrigins {
		if o == "*" {
			if len(f.AllowOrigins) > 1 {
				return nil, errors.New("cors.allowOrigins: '*' cannot be listed with other origins")
			}
			out.AnyOrigin = true
			continue
		}
		origin, err := corsOrigin(string(o))
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out.AllowOrigins, origin) {
			out.AllowOrigins = append(out.AllowOrigins, origin)
		}
	}
	for _, m := range f.AllowMethods {
		switch {
		case m == "*":
			if len(f.AllowMethods) > 1 {
				return nil, errors.New("cors.allowMethods: '*' cannot be listed with other methods")
			}
			out.AnyMethod = true
		case !slices.Contains(corsMethods, string(m)):
			return nil, fmt.Errorf("cors.allowMethods: %q is not one of %s or '*'", m, strings.Join(corsMethods, ", "))
		case !slices.Contains(out.AllowMethods, string(m)):
			out.AllowMethods = append(out.AllowMethods, string(m))
		}
	}
	for _, h := range f.AllowHeaders {
		if h == "*" {
			if len(f.AllowHeaders) > 1 {
				return nil, errors.New("cors.allowHeaders: '*' cannot be listed with other headers")
			}
			out.AnyHeader = true
			continue
		}
		if _, err := kengine.EscapeHeaderName(string(h)); err != nil {
			return nil, fmt.Errorf("cors.allowHeaders: %w", err)
		}
		out.AllowHeaders = appendHeaderName(out.AllowHeaders, string(h))
	}
	for _, h := range f.ExposeHeaders {
		if h == "*" && out.AllowCredentials {
			return nil, errors.New("cors.exposeHeaders '*' with allowCredentials: browsers read '*' as a header name on requests with credentials, and Kengine cannot list the names of a response's headers instead")
		}
		if _, err := kengine.EscapeHeaderName(string(h)); err != nil {
			return nil, fmt.Errorf("cors.exposeHeaders: %w", err)
		}
		out.ExposeHeaders = appendHeaderName(out.ExposeHeaders, string(h))
	}
	switch {
	case f.MaxAge < 0:
		return nil, fmt.Errorf("cors.maxAge %d is negative", f.MaxAge)
	case f.MaxAge > 0:
		out.MaxAge = int(f.MaxAge)
	}
	return out, nil
}

// corsOrigin validates one allowed origin other than "*" and resolves it: the host in lower
// case, and the scheme's default port as zero.
func corsOrigin(s string) (ir.Origin, error) {
	m := corsOriginSyntax.FindStringSubmatch(s)
	if m == nil {
		return ir.Origin{}, fmt.Errorf("cors.allowOrigins: %q is not an origin (http or https, a host that may start with '*.', or is '*', and an optional port)", s)
	}
	o := ir.Origin{Scheme: m[1], Host: strings.ToLower(m[2])}
	if m[3] != "" {
		port, _ := strconv.Atoi(m[3])
		if port < 1 || port > 65535 {
			return ir.Origin{}, fmt.Errorf("cors.allowOrigins: %q: port %d is out of range", s, port)
		}
		if !(o.Scheme == "http" && port == 80) && !(o.Scheme == "https" && port == 443) {
			o.Port = port
		}
	}
	return o, nil
}

// appendHeaderName appends a header name unless the list already has it in any case.
func appendHeaderName(names []string, name string) []string {
	for _, n := range names {
		if strings.EqualFold(n, name) {
			return names
		}
	}
	return append(names, name)
}
