package integration

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/render"
	"github.com/khulnasoft/gateway/controller/translate"
	"github.com/khulnasoft/gateway/kengine"
)

// FuzzRenderAcceptedByKengine holds the pipeline to one promise: whatever a tenant can write
// in a Gateway and its HTTPRoutes, the controller never produces a config that Kengine
// rejects, nor one in which route text turns into Kengine syntax. The oracle is a real Kengine:
// every input is translated, rendered, finalized and loaded with POST /load into one Kengine
// per test process (fuzz workers are processes, so each worker has its own).
//
// Inputs the Kubernetes API server would refuse are dropped before translation (see
// admissibleGateway and admissibleHTTPRoute); a route that Translate refuses (Accepted=False)
// is fine. The seeds include known attacks that fail until the controller escapes them.
//
//	go test -run FuzzRenderAcceptedByKengine                      # seeds and testdata/fuzz only
//	go test -run '^$' -fuzz FuzzRenderAcceptedByKengine -fuzztime 60s -parallel 1
func FuzzRenderAcceptedByKengine(f *testing.F) {
	for _, s := range fuzzSeeds {
		in := s.in
		f.Add(in.GatewayHost, in.RouteHost, in.Path, in.HeaderName, in.HeaderValue, in.QueryValue,
			in.ModifierValue, in.RemoveName, in.RedirectHost, in.RewritePath,
			in.Layout, in.Match, in.Method, in.Filters, in.Redirect, in.Port, in.Weights)
	}
	k := &fuzzKengine{}
	f.Cleanup(k.stop)
	f.Fuzz(func(t *testing.T,
		gatewayHost, routeHost, path, headerName, headerValue, queryValue, modifierValue,
		removeName, redirectHost, rewritePath string,
		layout, match, method, filters, redirect uint8, port uint16, weights uint32,
	) {
		in := fuzzInput{
			GatewayHost: gatewayHost, RouteHost: routeHost, Path: path,
			HeaderName: headerName, HeaderValue: headerValue, QueryValue: queryValue,
			ModifierValue: modifierValue, RemoveName: removeName,
			RedirectHost: redirectHost, RewritePath: rewritePath,
			Layout: layout, Match: match, Method: method, Filters: filters, Redirect: redirect,
			Port: port, Weights: weights,
		}
		h := k.harness(t)
		s, err := in.snapshot(k.ports, k.secret)
		if err != nil {
			return // the API server would not have admitted these objects
		}
		tr := translate.Translate(s, translate.Options{ControllerName: controllerName})
		cfg, err := render.Config(tr.Gateway, h.opts)
		if err != nil {
			t.Fatalf("render: %v\ninput: %#v\nroutes: %s", err, in, routeVerdicts(tr))
		}
		data, version, err := kengine.Finalize(cfg)
		if err != nil {
			t.Fatalf("finalize: %v\ninput: %#v\nroutes: %s", err, in, routeVerdicts(tr))
		}
		if problems := literalConfigProblems(data); len(problems) > 0 {
			t.Errorf("route text reached Kengine syntax in the rendered config:\n  %s\ninput: %#v\nroutes: %s",
				strings.Join(problems, "\n  "), in, routeVerdicts(tr))
		}
		if err := k.load(t, h, data, version); err != nil {
			t.Fatalf("%v\ninput: %#v\nroutes: %s", err, in, routeVerdicts(tr))
		}
	})
}

// fuzzInput is one fuzz input: strings that land in the objects as written, and small
// integers whose bits choose the objects' shape.
type fuzzInput struct {
	GatewayHost   string // hostname of listener l1 (and of l2 with layoutL2Hostname); "" for none
	RouteHost     string // the routes' hostname; "" for none
	Path          string // path match value
	HeaderName    string // header and query match name, header modifier set/add name
	HeaderValue   string // header match value (exact or regular expression)
	QueryValue    string // query parameter match value
	ModifierValue string // header modifier set/add value
	RemoveName    string // header modifier remove entry (with filterRemove)
	RedirectHost  string // requestRedirect and urlRewrite hostname; "" for none
	RewritePath   string // replaceFullPath or replacePrefixMatch value

	Layout   uint8  // layout* bits: listeners and routes
	Match    uint8  // match* bits: what the rule matches on
	Method   uint8  // 0: no method match; else httpMethods[(Method-1)%9]
	Filters  uint8  // filter* bits
	Redirect uint8  // bits 0-1 scheme (1 http, 2 https), bits 2-4 redirectStatusCodes index+1
	Port     uint16 // requestRedirect port; 0 for none
	Weights  uint32 // low 16 bits: weight of the first backendRef, high 16: of the second
}

// Layout bits.
const (
	layoutL1HTTPS     = 1 << iota // listener l1 is HTTPS (else HTTP)
	layoutL2                      // a second listener, l2
	layoutL2HTTPS                 // l2 is HTTPS
	layoutL2SharePort             // l2 listens on l1's port (else on its own)
	layoutL2Hostname              // l2 has GatewayHost too (else no hostname)
	layoutSectionL1               // route a attaches to l1 only (sectionName)
	layoutRouteB                  // a second route, in namespace fuzzOtherNamespace
	layoutRouteBHost              // route b's hostname is GatewayHost (else RouteHost)
)

// Match bits; bits 0-1 are the path type: 0 omitted (the API server defaults it to
// PathPrefix "/"), 1 Exact, 2 PathPrefix, 3 RegularExpression.
const (
	matchHeader         = 1 << 2 // a header match on HeaderName
	matchHeaderRegex    = 1 << 3 // ... of type RegularExpression (else Exact)
	matchQuery          = 1 << 4 // a query parameter match on HeaderName
	matchQueryRegex     = 1 << 5 // ... of type RegularExpression (else Exact)
	matchSecondBackend  = 1 << 6 // a second, weighted backendRef
	matchMissingBackend = 1 << 7 // ... to a Service that does not exist (else one without endpoints)
)

// Filters bits.
const (
	filterRequestHeaders  = 1 << iota // RequestHeaderModifier
	filterResponseHeaders             // ResponseHeaderModifier
	filterRedirect                    // RequestRedirect
	filterRewrite                     // URLRewrite
	filterPath                        // redirect and rewrite carry a path modifier
	filterPrefixPath                  // ... of type ReplacePrefixMatch (else ReplaceFullPath)
	filterOnBackend                   // the filters sit on the first backendRef (else on the rule)
	filterRemove                      // header modifiers also remove RemoveName
)

var (
	httpMethods = []gatewayv1.HTTPMethod{
		gatewayv1.HTTPMethodGet, gatewayv1.HTTPMethodHead, gatewayv1.HTTPMethodPost,
		gatewayv1.HTTPMethodPut, gatewayv1.HTTPMethodDelete, gatewayv1.HTTPMethodConnect,
		gatewayv1.HTTPMethodOptions, gatewayv1.HTTPMethodTrace, gatewayv1.HTTPMethodPatch,
	}
	redirectStatusCodes = []int{301, 302, 303, 307, 308}
)

// Names of the objects the fuzz target creates besides the shared test constants.
const (
	fuzzOtherNamespace = "tenant-b"
	fuzzSecretName     = "fuzz-cert"
	fuzzMissingService = "missing"
	fuzzEmptyService   = "empty"
)

// fuzzPorts are the Gateway ports of every input of one process: l1's, and l2's own.
type fuzzPorts struct{ l1, l2 int }

// snapshot builds the objects the input describes, or says why the API server would refuse
// them.
func (in fuzzInput) snapshot(ports fuzzPorts, secret *corev1.Secret) (*translate.Snapshot, error) {
	gw := gateway(in.listener("l1", ports.l1, in.Layout&layoutL1HTTPS != 0, in.GatewayHost))
	if in.Layout&layoutL2 != 0 {
		port, host := ports.l2, ""
		if in.Layout&layoutL2SharePort != 0 {
			port = ports.l1
		}
		if in.Layout&layoutL2Hostname != 0 {
			host = in.GatewayHost
		}
		gw.Spec.Listeners = append(gw.Spec.Listeners, in.listener("l2", port, in.Layout&layoutL2HTTPS != 0, host))
	}
	if err := admissibleGateway(gw); err != nil {
		return nil, err
	}

	objs := []any{secret}
	a := in.route(appNamespace, "fuzz-a", in.RouteHost)
	if in.Layout&layoutSectionL1 != 0 {
		a.Spec.ParentRefs[0].SectionName = ptr.To(gatewayv1.SectionName("l1"))
	}
	objs = append(objs, a)
	if in.Layout&layoutRouteB != 0 {
		host := in.RouteHost
		if in.Layout&layoutRouteBHost != 0 {
			host = in.GatewayHost
		}
		objs = append(objs, in.route(fuzzOtherNamespace, "fuzz-b", host))
	}
	for _, o := range objs[1:] {
		if err := admissibleHTTPRoute(o.(*gatewayv1.HTTPRoute)); err != nil {
			return nil, err
		}
	}
	// No request is ever sent: the endpoints only have to exist.
	for _, ns := range []string{appNamespace, fuzzOtherNamespace} {
		objs = append(objs, movedToNamespace(service("echo", &backend{name: "echo", port: 9}), ns),
			movedToNamespace(service(fuzzEmptyService), ns))
	}
	s := snapshot(gw, objs...)
	s.Namespaces[fuzzOtherNamespace] = &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fuzzOtherNamespace}}
	return s, nil
}

func (in fuzzInput) listener(name string, port int, https bool, hostname string) gatewayv1.Listener {
	if https {
		return httpsListener(name, port, hostname, fuzzSecretName)
	}
	return httpListener(name, port, hostname)
}

// route builds one HTTPRoute with one rule, as the API server stores it (defaults applied).
func (in fuzzInput) route(namespace, name, hostname string) *gatewayv1.HTTPRoute {
	var opts []routeOption
	if hostname != "" {
		opts = append(opts, withHostnames(hostname))
	}
	r := route(name, opts...)
	r.Namespace = namespace
	r.Spec.Rules = []gatewayv1.HTTPRouteRule{in.rule()}
	return r
}

func (in fuzzInput) rule() gatewayv1.HTTPRouteRule {
	m := match(in.pathMatch())
	if in.Match&matchHeader != 0 {
		typ := gatewayv1.HeaderMatchExact
		if in.Match&matchHeaderRegex != 0 {
			typ = gatewayv1.HeaderMatchRegularExpression
		}
		m.Headers = []gatewayv1.HTTPHeaderMatch{{Type: &typ, Name: gatewayv1.HTTPHeaderName(in.HeaderName), Value: in.HeaderValue}}
	}
	if in.Match&matchQuery != 0 {
		typ := gatewayv1.QueryParamMatchExact
		if in.Match&matchQueryRegex != 0 {
			typ = gatewayv1.QueryParamMatchRegularExpression
		}
		m.QueryParams = []gatewayv1.HTTPQueryParamMatch{{Type: &typ, Name: gatewayv1.HTTPHeaderName(in.HeaderName), Value: in.QueryValue}}
	}
	if in.Method != 0 {
		m.Method = ptr.To(httpMethods[int(in.Method-1)%len(httpMethods)])
	}
	r := rule(matching(m))

	filters := in.filters()
	redirectOnRule := in.Filters&filterRedirect != 0 && in.Filters&filterOnBackend == 0
	if !redirectOnRule {
		// A rule-level RequestRedirect forbids backendRefs (CEL rule on HTTPRouteRule).
		toWeighted("echo", int32(in.Weights&0xffff))(&r)
		if in.Filters&filterOnBackend != 0 {
			r.BackendRefs[0].Filters = filters
		}
		if in.Match&matchSecondBackend != 0 {
			name := fuzzEmptyService
			if in.Match&matchMissingBackend != 0 {
				name = fuzzMissingService
			}
			toWeighted(name, int32(in.Weights>>16))(&r)
		}
	}
	if in.Filters&filterOnBackend == 0 {
		r.Filters = filters
	}
	return r
}

func (in fuzzInput) pathMatch() matchOption {
	switch in.Match & 3 {
	case 1:
		return exact(in.Path)
	case 2:
		return prefix(in.Path)
	case 3:
		return regex(in.Path)
	}
	return prefix("/") // the default of an omitted path
}

func (in fuzzInput) filters() []gatewayv1.HTTPRouteFilter {
	var out []gatewayv1.HTTPRouteFilter
	modifier := func() gatewayv1.HTTPHeaderFilter {
		f := gatewayv1.HTTPHeaderFilter{
			Set: []gatewayv1.HTTPHeader{{Name: gatewayv1.HTTPHeaderName(in.HeaderName), Value: in.ModifierValue}},
			Add: []gatewayv1.HTTPHeader{{Name: gatewayv1.HTTPHeaderName(in.HeaderName), Value: in.ModifierValue}},
		}
		if in.Filters&filterRemove != 0 {
			f.Remove = []string{in.RemoveName}
		}
		return f
	}
	if in.Filters&filterRequestHeaders != 0 {
		out = append(out, requestHeaderModifier(modifier()))
	}
	if in.Filters&filterResponseHeaders != 0 {
		out = append(out, responseHeaderModifier(modifier()))
	}
	var path *gatewayv1.HTTPPathModifier
	if in.Filters&filterPath != 0 {
		path = replaceFullPath(in.RewritePath)
		if in.Filters&filterPrefixPath != 0 {
			path = replacePrefixMatch(in.RewritePath)
		}
	}
	var host *gatewayv1.PreciseHostname
	if in.RedirectHost != "" {
		host = ptr.To(gatewayv1.PreciseHostname(in.RedirectHost))
	}
	if in.Filters&filterRedirect != 0 {
		rd := gatewayv1.HTTPRequestRedirectFilter{Hostname: host, Path: path}
		switch in.Redirect & 3 {
		case 1:
			rd.Scheme = ptr.To("http")
		case 2:
			rd.Scheme = ptr.To("https")
		}
		if i := int(in.Redirect>>2) & 7; i >= 1 && i <= len(redirectStatusCodes) {
			rd.StatusCode = ptr.To(redirectStatusCodes[i-1])
		}
		if in.Port != 0 {
			rd.Port = ptr.To(gatewayv1.PortNumber(in.Port))
		}
		out = append(out, requestRedirect(rd))
	}
	if in.Filters&filterRewrite != 0 {
		out = append(out, urlRewrite(gatewayv1.HTTPURLRewriteFilter{Hostname: host, Path: path}))
	}
	return out
}

// movedToNamespace moves a Service and its EndpointSlices to namespace.
func movedToNamespace(objs serviceObjects, namespace string) serviceObjects {
	objs.service.Namespace = namespace
	for _, s := range objs.slices {
		s.Namespace = namespace
	}
	return objs
}

// The literal-config oracle: Kengine expands placeholders ({env.HOME}, {file./etc/passwd},
// {http.request.header.Cookie}) in most strings of a config and treats a header removal of
// "*", "x-*" or "*-x" as a wildcard. Route text must reach neither form: the renderer has to
// escape it. Which strings Kengine expands, and how it scans them, mirrors
// caddy/v2@v2.11.9 replacer.go (Replacer.replace) and modules/caddyhttp/headers/headers.go
// (HeaderOps.ApplyTo).

// rendererPlaceholders are the placeholders the renderer writes on its own account (the
// redirect Location); any other placeholder in the config came from route text.
var rendererPlaceholders = map[string]bool{"http.request.host": true, "http.request.uri": true}

// kengineRegexpFields name the config fields that hold regular expressions, which Kengine compiles as
// written: "{" there is a repetition, never a placeholder.
var kengineRegexpFields = map[string]bool{"pattern": true, "find": true, "search_regexp": true}

// literalConfigProblems returns every place in the config's HTTP app where a placeholder the
// renderer did not write, or a header-removal wildcard, appears.
func literalConfigProblems(data []byte) []string {
	var doc struct {
		Apps struct {
			HTTP any `json:"http"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return []string{fmt.Sprintf("the config is not JSON: %v", err)}
	}
	var problems []string
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, child := range v {
				for _, p := range kenginePlaceholders(k) {
					if !rendererPlaceholders[p] {
						problems = append(problems, fmt.Sprintf("%s: key %q holds placeholder {%s}", path, k, p))
					}
				}
				if kengineRegexpFields[k] {
					continue
				}
				if list, ok := child.([]any); ok && k == "delete" {
					for _, e := range list {
						if s, ok := e.(string); ok && (strings.HasPrefix(s, "*") || strings.HasSuffix(s, "*")) {
							problems = append(problems, fmt.Sprintf("%s.delete: %q is a header wildcard", path, s))
						}
					}
				}
				walk(path+"."+k, child)
			}
		case []any:
			for i, child := range v {
				walk(fmt.Sprintf("%s[%d]", path, i), child)
			}
		case string:
			for _, p := range kenginePlaceholders(v) {
				if !rendererPlaceholders[p] {
					problems = append(problems, fmt.Sprintf("%s: %q holds placeholder {%s}", path, v, p))
				}
			}
		}
	}
	walk("apps.http", doc.Apps.HTTP)
	sort.Strings(problems)
	return problems
}

// kenginePlaceholders returns the keys of the placeholders Kengine would try to expand in s: an
// unescaped "{" up to the first unescaped "}". Kengine resumes scanning right after the "{" of
// a placeholder it does not know, so nested candidates count too.
func kenginePlaceholders(s string) []string {
	var keys []string
	for i := 0; i < len(s); i++ {
		if s[i] != '{' || (i > 0 && s[i-1] == '\\') {
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			continue
		}
		end += i
		closed := true
		for end < len(s)-1 && s[end-1] == '\\' {
			next := strings.IndexByte(s[end+1:], '}')
			if next < 0 {
				closed = false
				break
			}
			end += next + 1
		}
		if closed {
			keys = append(keys, s[i+1:end])
		}
	}
	return keys
}

// routeVerdicts summarises Translate's verdict on every route, for failure messages.
func routeVerdicts(tr *translate.Result) string {
	var out []string
	for _, rs := range tr.Status.Routes {
		verdict := "no parent"
		for _, p := range rs.Parents {
			c := apimeta.FindStatusCondition(p.Conditions, string(gatewayv1.RouteConditionAccepted))
			if c != nil {
				verdict = fmt.Sprintf("Accepted=%s %s: %s", c.Status, c.Reason, c.Message)
			}
		}
		out = append(out, fmt.Sprintf("%s/%s %s", rs.Route.GetNamespace(), rs.Route.GetName(), verdict))
	}
	return strings.Join(out, "; ")
}

// fuzzKengine is the Kengine process, the Gateway ports and the listener certificate that
// every input of one test process shares. The first input starts them; the fuzz target's
// cleanup stops them.
type fuzzKengine struct {
	once sync.Once
	// mu keeps one input at a time on the process: the config it runs and the client's memory
	// of the loaded version belong to the input that holds it.
	mu       sync.Mutex
	h        *harness
	ports    fuzzPorts
	secret   *corev1.Secret
	cleanups []func()
}

// harness starts the shared Kengine on first use and returns a harness bound to t.
func (k *fuzzKengine) harness(t *testing.T) *harness {
	t.Helper()
	k.once.Do(func() {
		lt := fuzzLifetime{T: t, k: k}
		h := newHarness(lt)
		ca := newTestCA(t)
		k.secret = ca.serverSecret(t, fuzzSecretName, 2, "fuzz.example.com", "*.example.com")
		reserved := []int{h.opts.HealthPort, h.opts.HealthPort + 1, h.opts.HealthPort + 2, h.kengine.adminPort}
		for k.ports.l1 == 0 || slices.Contains(reserved, k.ports.l1) {
			k.ports.l1 = freePort(t)
		}
		reserved = append(reserved, k.ports.l1)
		for k.ports.l2 == 0 || slices.Contains(reserved, k.ports.l2) {
			k.ports.l2 = freePort(t)
		}
		k.h = h
	})
	if k.h == nil {
		t.Fatal("the shared Kengine did not start (see the first input's failure)")
	}
	h := *k.h
	h.t = t
	return &h
}

// load pushes a finalized config and fails unless Kengine took it and is still running.
func (k *fuzzKengine) load(t *testing.T, h *harness, data []byte, version string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	p := h.kengine
	exited := func() bool {
		select {
		case <-p.done:
			return true
		default:
			return false
		}
	}
	var apiErr *kengine.APIError
	res := h.push(data, version)
	if res.Err != nil && !errors.As(res.Err, &apiErr) && !exited() {
		// Kengine starts a new admin server on every load and shuts the old one down in the
		// background, closing its idle connections (caddy admin.go, replaceLocalAdminServer),
		// so the next POST /load can be reset on a pooled connection, and POST is not
		// retried by the transport. That is no verdict on this config: ask once more.
		t.Logf("retrying the load after a transport error: %v", res.Err)
		res = h.push(data, version)
	}
	if exited() {
		// Later inputs get a fresh process; this one reports the crash.
		p.t = fuzzLifetime{T: t, k: k}
		p.restart()
		return fmt.Errorf("Kengine exited while loading the config (push: %v)", res.Err)
	}
	switch {
	case errors.As(res.Err, &apiErr):
		return fmt.Errorf("Kengine rejected the config: %d: %s", apiErr.StatusCode, apiErr.Message)
	case res.Err != nil:
		return fmt.Errorf("loading the config: %w", res.Err)
	}
	return nil
}

func (k *fuzzKengine) stop() {
	for i := len(k.cleanups) - 1; i >= 0; i-- {
		k.cleanups[i]()
	}
}

// fuzzLifetime lends the fuzz target's lifetime to the helpers that start Kengine: their
// Cleanup and TempDir outlive the input that happened to start it (the *testing.F's own must
// not be called inside the fuzz function), while failures and logs go to that input's T.
type fuzzLifetime struct {
	*testing.T
	k *fuzzKengine
}

func (l fuzzLifetime) Cleanup(fn func()) { l.k.cleanups = append(l.k.cleanups, fn) }

func (l fuzzLifetime) TempDir() string {
	dir, err := os.MkdirTemp("", "kengine-fuzz-")
	if err != nil {
		l.T.Fatal(err)
	}
	l.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// Failed is false so that the process's cleanup never writes to the T of an input that has
// finished; each failing input reports Kengine's error itself.
func (l fuzzLifetime) Failed() bool { return false }

// fuzzSeed is a seed input and what must hold for it before Kengine sees it.
type fuzzSeed struct {
	name string
	in   fuzzInput
	// admissible is whether the API server admits the objects.
	admissible bool
	// accepted is whether Translate must accept every route; false for attacks, which a
	// fixed controller may accept with escaping or refuse.
	accepted bool
}

// fuzzPlain is an ordinary route: a Gateway with one HTTP listener, one route with a hostname, a
// PathPrefix match and a backend.
var fuzzPlain = fuzzInput{
	GatewayHost: "", RouteHost: "app.example.com", Path: "/api", HeaderName: "X-Tenant",
	HeaderValue: "blue", QueryValue: "v1", ModifierValue: "set-by-gateway", RemoveName: "X-Internal",
	RedirectHost: "", RewritePath: "/v2", Match: 2, Weights: 1,
}

// fuzzPlainWith returns fuzzPlain changed by edit.
func fuzzPlainWith(edit func(*fuzzInput)) fuzzInput {
	in := fuzzPlain
	edit(&in)
	return in
}

var fuzzSeeds = []fuzzSeed{
	// Ordinary objects, one per feature.
	{"plain", fuzzPlain, true, true},
	{"exact path, header, query and method", fuzzPlainWith(func(in *fuzzInput) {
		in.Match, in.Method = 1|matchHeader|matchQuery, 3
	}), true, true},
	{"regular expressions", fuzzPlainWith(func(in *fuzzInput) {
		in.Path, in.HeaderValue = `/items/[0-9]+`, `^(blue|green)$`
		in.Match = 3 | matchHeader | matchHeaderRegex
	}), true, true},
	{"header modifiers on the rule", fuzzPlainWith(func(in *fuzzInput) {
		in.Filters = filterRequestHeaders | filterResponseHeaders | filterRemove
	}), true, true},
	{"header modifiers on the backend", fuzzPlainWith(func(in *fuzzInput) {
		in.Filters = filterRequestHeaders | filterOnBackend | filterRemove
	}), true, true},
	{"redirect", fuzzPlainWith(func(in *fuzzInput) {
		in.RedirectHost, in.Filters, in.Redirect, in.Port = "www.example.com", filterRedirect|filterPath, 2|4<<2, 8443
	}), true, true},
	{"redirect prefix", fuzzPlainWith(func(in *fuzzInput) {
		in.Filters, in.Redirect = filterRedirect|filterPath|filterPrefixPath, 1|1<<2
	}), true, true},
	{"rewrite", fuzzPlainWith(func(in *fuzzInput) {
		in.RedirectHost, in.Filters = "internal.example.com", filterRewrite|filterPath|filterPrefixPath
	}), true, true},
	{"rewrite full path", fuzzPlainWith(func(in *fuzzInput) {
		in.Filters = filterRewrite | filterPath
	}), true, true},
	{"weighted backends", fuzzPlainWith(func(in *fuzzInput) {
		in.Match, in.Weights = 2|matchSecondBackend, 3|1<<16
	}), true, true},
	{"weighted missing backend", fuzzPlainWith(func(in *fuzzInput) {
		in.Match, in.Weights = 2|matchSecondBackend|matchMissingBackend, 1000|65535<<16
	}), true, true},
	{"HTTPS with a wildcard and two routes", fuzzPlainWith(func(in *fuzzInput) {
		in.GatewayHost, in.RouteHost = "*.example.com", "shop.example.com"
		in.Layout = layoutL1HTTPS | layoutL2 | layoutRouteB | layoutSectionL1
	}), true, true},
	{"two listeners on one port", fuzzPlainWith(func(in *fuzzInput) {
		in.GatewayHost = "app.example.com"
		in.Layout = layoutL2 | layoutL2SharePort | layoutRouteB | layoutRouteBHost
	}), true, true},
	{"HTTP and HTTPS, no route hostname", fuzzPlainWith(func(in *fuzzInput) {
		in.RouteHost, in.Layout = "", layoutL2|layoutL2HTTPS|layoutL2Hostname
		in.GatewayHost = "secure.example.com"
	}), true, true},
	{"placeholder-looking text that is escaped", fuzzPlainWith(func(in *fuzzInput) {
		in.ModifierValue, in.QueryValue = `{http.request.uri} \{x\}`, `{a}`
		in.Match, in.Filters = 2|matchQuery, filterRequestHeaders|filterResponseHeaders
	}), true, true},

	// Known attacks. Each must end in a route that Kengine loads and that means what it says,
	// or in a refused route; never in a rejected config or expanded text.
	{"attack: path regexp ending in \\Q", fuzzPlainWith(func(in *fuzzInput) {
		in.Path, in.Match = `/foo\Q`, 3
	}), true, false},
	{"attack: route hostname xn--0", fuzzPlainWith(func(in *fuzzInput) {
		in.RouteHost = "xn--0.example.com"
	}), true, false},
	{"attack: header match value of 64 zeros", fuzzPlainWith(func(in *fuzzInput) {
		in.HeaderValue, in.Match = strings.Repeat("0", 64), 2|matchHeader
	}), true, false},
	{"attack: header modifier value of 64 zeros", fuzzPlainWith(func(in *fuzzInput) {
		in.ModifierValue, in.Filters = strings.Repeat("0", 64), filterRequestHeaders
	}), true, false},
	{"attack: nested header regexp repetition", fuzzPlainWith(func(in *fuzzInput) {
		in.HeaderValue, in.Match = `(((a{100}){100}){100})`, 2|matchHeader|matchHeaderRegex
	}), true, false},
	{"attack: {env.HOME} in a header value", fuzzPlainWith(func(in *fuzzInput) {
		in.ModifierValue, in.Filters = "{env.HOME}", filterRequestHeaders|filterResponseHeaders
	}), true, false},
	{"attack: {env.HOME} in a redirect hostname", fuzzPlainWith(func(in *fuzzInput) {
		// PreciseHostname's pattern refuses braces: the API server stops this one.
		in.RedirectHost, in.Filters = "{env.HOME}", filterRedirect
	}), false, false},
	{"attack: header removal of *", fuzzPlainWith(func(in *fuzzInput) {
		in.RemoveName, in.Filters = "*", filterRequestHeaders|filterRemove
	}), true, false},
}

// TestFuzzRenderSeedsAreWhatTheySay keeps the seed corpus honest without Kengine: each seed is
// admissible or not as labelled, and the ordinary ones are accepted, so the fuzzer starts from
// routes that reach the config.
func TestFuzzRenderSeedsAreWhatTheySay(t *testing.T) {
	ports := fuzzPorts{l1: 8080, l2: 8443}
	secret := newTestCA(t).serverSecret(t, fuzzSecretName, 2, "fuzz.example.com")
	for _, s := range fuzzSeeds {
		t.Run(s.name, func(t *testing.T) {
			snap, err := s.in.snapshot(ports, secret)
			if (err == nil) != s.admissible {
				t.Fatalf("admissible = %v (%v), want %v", err == nil, err, s.admissible)
			}
			if err != nil || !s.accepted {
				return
			}
			tr := translate.Translate(snap, translate.Options{ControllerName: controllerName})
			for _, rs := range tr.Status.Routes {
				for _, p := range rs.Parents {
					if !apimeta.IsStatusConditionTrue(p.Conditions, string(gatewayv1.RouteConditionAccepted)) {
						t.Errorf("not accepted: %s", routeVerdicts(tr))
					}
				}
				if len(rs.Parents) == 0 {
					t.Errorf("route %s has no parent status", rs.Route.GetName())
				}
			}
		})
	}
}
