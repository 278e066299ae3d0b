package kengine

import (
	"slices"
	"strconv"
	"sync"
)

// The encoder below writes the parts of a config that grow with the number of routes (the
// http app: servers, routes, matchers and the common handlers) without reflection, byte for
// byte as encoding/json writes them (field order, omitempty, sorted map keys, no HTML
// escaping). Everything else, and every value it has no case for, goes through encodeJSON,
// so a type it does not know is still encoded exactly as before; TestEncoderMatchesReflection
// holds the two to the same bytes.

// encoder appends the JSON of a config to buf; err is the first error of a fallback encoding.
type encoder struct {
	buf []byte
	err error
}

// encodeBuffers keep the scratch buffer a config is encoded into between encodings, so that a
// large config costs one allocation of its final size rather than every step of its growth.
var encodeBuffers = sync.Pool{New: func() any { return new([]byte) }}

// marshalConfig encodes c as encodeJSON would. With size > 0, the config is expected to take
// about size bytes and is encoded straight into a slice of that capacity; otherwise into a
// pooled scratch buffer, then copied into a slice of exactly its length.
func marshalConfig(c *Config, size int) ([]byte, error) {
	if size > 0 {
		e := encoder{buf: make([]byte, 0, size+size/32+512)}
		e.config(c)
		return e.buf, e.err
	}
	scratch := encodeBuffers.Get().(*[]byte)
	e := encoder{buf: (*scratch)[:0]}
	e.config(c)
	out := slices.Clone(e.buf)
	*scratch = e.buf[:0]
	encodeBuffers.Put(scratch)
	if e.err != nil {
		return nil, e.err
	}
	return out, nil
}

// EncodedHandler is a handler encoded once, so that configs that hold it again are written
// without encoding it again. Only EncodeHandler makes one, so its bytes are always the valid,
// compact encoding of a handler, exactly as it would be written in place.
type EncodedHandler struct {
	name string
	json []byte
}

// EncodeHandler encodes h for use in many configs.
func EncodeHandler(h Handler) (EncodedHandler, error) {
	scratch := encodeBuffers.Get().(*[]byte)
	e := encoder{buf: (*scratch)[:0]}
	e.handler(h)
	out := slices.Clone(e.buf)
	*scratch = e.buf[:0]
	encodeBuffers.Put(scratch)
	if e.err != nil {
		return EncodedHandler{}, e.err
	}
	return EncodedHandler{name: h.HandlerName(), json: out}, nil
}

// HandlerName returns the name of the handler that was encoded.
func (h EncodedHandler) HandlerName() string { return h.name }

// MarshalJSON returns the encoded handler.
func (h EncodedHandler) MarshalJSON() ([]byte, error) { return h.json, nil }

// Size is the length of the encoded handler.
func (h EncodedHandler) Size() int { return len(h.json) }

// fallback appends v as encoding/json writes it.
func (e *encoder) fallback(v any) {
	data, err := encodeJSON(v)
	if err != nil {
		if e.err == nil {
			e.err = err
		}
		return
	}
	e.buf = append(e.buf, data...)
}

// field appends a member name, preceded by a comma unless it is the object's first member.
func (e *encoder) field(first *bool, name string) {
	if !*first {
		e.buf = append(e.buf, ',')
	}
	*first = false
	e.buf = append(e.buf, '"')
	e.buf = append(e.buf, name...)
	e.buf = append(e.buf, '"', ':')
}

// plainJSONString reports whether s is written between quotes as it is: printable ASCII
// without '"' and '\\' (encoding/json escapes nothing else when it does not escape HTML).
func plainJSONString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func (e *encoder) string(s string) {
	if !plainJSONString(s) {
		e.fallback(s)
		return
	}
	e.buf = append(e.buf, '"')
	e.buf = append(e.buf, s...)
	e.buf = append(e.buf, '"')
}

func (e *encoder) strings(ss []string) {
	if ss == nil {
		e.buf = append(e.buf, "null"...)
		return
	}
	e.buf = append(e.buf, '[')
	for i, s := range ss {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.string(s)
	}
	e.buf = append(e.buf, ']')
}

func (e *encoder) int(n int64) { e.buf = strconv.AppendInt(e.buf, n, 10) }

func (e *encoder) bool(b bool) { e.buf = strconv.AppendBool(e.buf, b) }

// sortedKeys returns a map's keys in the order encoding/json writes them.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (e *encoder) stringListMap(m map[string][]string) {
	if m == nil {
		e.buf = append(e.buf, "null"...)
		return
	}
	e.buf = append(e.buf, '{')
	for i, k := range sortedKeys(m) {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.string(k)
		e.buf = append(e.buf, ':')
		e.strings(m[k])
	}
	e.buf = append(e.buf, '}')
}

func (e *encoder) regexpMap(m map[string]*RegexpMatcher) {
	if m == nil {
		e.buf = append(e.buf, "null"...)
		return
	}
	e.buf = append(e.buf, '{')
	for i, k := range sortedKeys(m) {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.string(k)
		e.buf = append(e.buf, ':')
		e.regexp(m[k])
	}
	e.buf = append(e.buf, '}')
}

func (e *encoder) regexp(r *RegexpMatcher) {
	if r == nil {
		e.buf = append(e.buf, "null"...)
		return
	}
	first := true
	e.buf = append(e.buf, '{')
	if r.Name != "" {
		e.field(&first, "name")
		e.string(r.Name)
	}
	e.field(&first, "pattern")
	e.string(r.Pattern)
	e.buf = append(e.buf, '}')
}

func (e *encoder) config(c *Config) {
	if c == nil {
		e.buf = append(e.buf, "null"...)
		return
	}
	first := true
	e.buf = append(e.buf, '{')
	if c.Admin != nil {
		e.field(&first, "admin")
		e.fallback(c.Admin)
	}
	if len(c.Logging) > 0 {
		e.field(&first, "logging")
		e.fallback(c.Logging)
	}
	e.field(&first, "apps")
	e.apps(&c.Apps)
	e.buf = append(e.buf, '}')
}

func (e *encoder) apps(a *Apps) {
	first := true
	e.buf = append(e.buf, '{')
	if a.HTTP != nil {
		e.field(&first, "http")
		e.httpApp(a.HTTP)
	}
	if a.TLS != nil {
		e.field(&first, "tls")
		e.fallback(a.TLS)
	}
	if a.Layer4 != nil {
		e.field(&first, "layer4")
		e.fallback(a.Layer4)
	}
	if a.PKI != nil {
		e.field(&first, "pki")
		e.fallback(a.PKI)
	}
	e.buf = append(e.buf, '}')
}

func (e *encoder) httpApp(a *HTTPApp) {
	first := true
	e.buf = append(e.buf, '{')
	if a.HTTPPort != 0 {
		e.field(&first, "http_port")
		e.int(int64(a.HTTPPort))
	}
	if a.HTTPSPort != 0 {
		e.field(&first, "https_port")
		e.int(int64(a.HTTPSPort))
	}
	if a.GracePeriod != 0 {
		e.field(&first, "grace_period")
		e.int(int64(a.GracePeriod))
	}
	if a.ShutdownDelay != 0 {
		e.field(&first, "shutdown_delay")
		e.int(int64(a.ShutdownDelay))
	}
	if len(a.Servers) > 0 {
		e.field(&first, "servers")
		e.buf = append(e.buf, '{')
		for i, k := range sortedKeys(a.Servers) {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.string(k)
			e.buf = append(e.buf, ':')
			e.server(a.Servers[k])
		}
		e.buf = append(e.buf, '}')
	}
	e.buf = append(e.buf, '}')
}

func (e *encoder) server(s *Server) {
	if s == nil {
		e.buf = append(e.buf, "null"...)
		return
	}
	first := true
	e.buf = append(e.buf, '{')
	if len(s.Listen) > 0 {
		e.field(&first, "listen")
		e.strings(s.Listen)
	}
	if len(s.ListenerWrappers) > 0 {
		e.field(&first, "listener_wrappers")
		e.fallback(s.ListenerWrappers)
	}
	if s.ReadHeaderTimeout != 0 {
		e.field(&first, "read_header_timeout")
		e.int(int64(s.ReadHeaderTimeout))
	}
	if s.IdleTimeout != 0 {
		e.field(&first, "idle_timeout")
		e.int(int64(s.IdleTimeout))
	}
	if len(s.Routes) > 0 {
		e.field(&first, "routes")
		e.routes(s.Routes)
	}
	if s.Errors != nil {
		e.field(&first, "errors")
		e.serverErrors(s.Errors)
	}
	if len(s.TLSConnectionPolicies) > 0 {
		e.field(&first, "tls_connection_policies")
		e.fallback(s.TLSConnectionPolicies)
	}
	if s.AutomaticHTTPS != nil {
		e.field(&first, "automatic_https")
		e.fallback(s.AutomaticHTTPS)
	}
	if s.StrictSNIHost != nil {
		e.field(&first, "strict_sni_host")
		e.bool(*s.StrictSNIHost)
	}
	if s.Logs != nil {
		e.field(&first, "logs")
		e.fallback(s.Logs)
	}
	if len(s.Protocols) > 0 {
		e.field(&first, "protocols")
		e.strings(s.Protocols)
	}
	e.buf = append(e.buf, '}')
}

func (e *encoder) serverErrors(s *ServerErrors) {
	first := true
	e.buf = append(e.buf, '{')
	if len(s.Routes) > 0 {
		e.field(&first, "routes")
		e.routes(s.Routes)
	}
	e.buf = append(e.buf, '}')
}

func (e *encoder) routes(rs []Route) {
	if rs == nil {
		e.buf = append(e.buf, "null"...)
		return
	}
	e.buf = append(e.buf, '[')
	for i := range rs {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.route(&rs[i])
	}
	e.buf = append(e.buf, ']')
}

func (e *encoder) route(r *Route) {
	first := true
	e.buf = append(e.buf, '{')
	if r.ID != "" {
		e.field(&first, "@id")
		e.string(r.ID)
	}
	if r.Group != "" {
		e.field(&first, "group")
		e.string(r.Group)
	}
	if len(r.Match) > 0 {
		e.field(&first, "match")
		e.matcherSets(r.Match)
	}
	if len(r.Handle) > 0 {
		e.field(&first, "handle")
		e.buf = append(e.buf, '[')
		for i, h := range r.Handle {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.handler(h)
		}
		e.buf = append(e.buf, ']')
	}
	if r.Terminal {
		e.field(&first, "terminal")
		e.bool(true)
	}
	e.buf = append(e.buf, '}')
}

func (e *encoder) matcherSets(ms []MatcherSet) {
	if ms == nil {
		e.buf = append(e.buf, "null"...)
		return
	}
	e.buf = append(e.buf, '[')
	for i := range ms {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.matcherSet(&ms[i])
	}
	e.buf = append(e.buf, ']')
}

func (e *encoder) matcherSet(m *MatcherSet) {
	first := true
	e.buf = append(e.buf, '{')
	if len(m.Host) > 0 {
		e.field(&first, "host")
		e.strings(m.Host)
	}
	if len(m.Path) > 0 {
		e.field(&first, "path")
		e.strings(m.Path)
	}
	if m.PathRegexp != nil {
		e.field(&first, "path_regexp")
		e.regexp(m.PathRegexp)
	}
	if len(m.Method) > 0 {
		e.field(&first, "method")
		e.strings(m.Method)
	}
	if len(m.Header) > 0 {
		e.field(&first, "header")
		e.stringListMap(m.Header)
	}
	if len(m.HeaderRegexp) > 0 {
		e.field(&first, "header_regexp")
		e.regexpMap(m.HeaderRegexp)
	}
	if len(m.Query) > 0 {
		e.field(&first, "query")
		e.stringListMap(m.Query)
	}
	if m.Protocol != "" {
		e.field(&first, "protocol")
		e.string(m.Protocol)
	}
	if m.RemoteIP != nil {
		e.field(&first, "remote_ip")
		e.fallback(m.RemoteIP)
	}
	if m.ClientIP != nil {
		e.field(&first, "client_ip")
		e.fallback(m.ClientIP)
	}
	if len(m.VarsRegexp) > 0 {
		e.field(&first, "vars_regexp")
		e.regexpMap(m.VarsRegexp)
	}
	if m.Expression != "" {
		e.field(&first, "expression")
		e.string(m.Expression)
	}
	if len(m.Not) > 0 {
		e.field(&first, "not")
		e.matcherSets(m.Not)
	}
	e.buf = append(e.buf, '}')
}

// handler writes the handlers every rendered route uses; any other goes through encodeJSON.
func (e *encoder) handler(h Handler) {
	switch h := h.(type) {
	case EncodedHandler:
		e.buf = append(e.buf, h.json...)
	case Subroute:
		e.subroute(h)
	case *Subroute:
		if h == nil {
			e.buf = append(e.buf, "null"...)
			return
		}
		e.subroute(*h)
	case ReverseProxy:
		e.reverseProxy(h)
	case *ReverseProxy:
		if h == nil {
			e.buf = append(e.buf, "null"...)
			return
		}
		e.reverseProxy(*h)
	case StaticResponse:
		e.staticResponse(h)
	case *StaticResponse:
		if h == nil {
			e.buf = append(e.buf, "null"...)
			return
		}
		e.staticResponse(*h)
	default:
		e.fallback(h)
	}
}

// The handlers are taken by value: a pointer to the copy the type switch makes would move
// every handler to the heap.

func (e *encoder) subroute(s Subroute) {
	e.buf = append(e.buf, `{"handler":"subroute"`...)
	if len(s.Routes) > 0 {
		e.buf = append(e.buf, `,"routes":`...)
		e.routes(s.Routes)
	}
	if s.Errors != nil {
		e.buf = append(e.buf, `,"errors":`...)
		e.serverErrors(s.Errors)
	}
	e.buf = append(e.buf, '}')
}

func (e *encoder) reverseProxy(p ReverseProxy) {
	e.buf = append(e.buf, `{"handler":"reverse_proxy"`...)
	first := false
	if p.Transport != nil {
		e.field(&first, "transport")
		e.fallback(p.Transport)
	}
	if p.LoadBalancing != nil {
		e.field(&first, "load_balancing")
		e.loadBalancing(p.LoadBalancing)
	}
	if len(p.Upstreams) > 0 {
		e.field(&first, "upstreams")
		e.buf = append(e.buf, '[')
		for i, u := range p.Upstreams {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			f := true
			e.buf = append(e.buf, '{')
			if u.Dial != "" {
				e.field(&f, "dial")
				e.string(u.Dial)
			}
			if u.MaxRequests != 0 {
				e.field(&f, "max_requests")
				e.int(int64(u.MaxRequests))
			}
			e.buf = append(e.buf, '}')
		}
		e.buf = append(e.buf, ']')
	}
	if p.FlushInterval != 0 {
		e.field(&first, "flush_interval")
		e.int(int64(p.FlushInterval))
	}
	if p.Headers != nil {
		e.field(&first, "headers")
		e.fallback(p.Headers)
	}
	if p.Rewrite != nil {
		e.field(&first, "rewrite")
		e.fallback(p.Rewrite)
	}
	if p.RequestBuffers != 0 {
		e.field(&first, "request_buffers")
		e.int(p.RequestBuffers)
	}
	e.buf = append(e.buf, '}')
}

func (e *encoder) loadBalancing(lb *LoadBalancing) {
	first := true
	e.buf = append(e.buf, '{')
	if sp := lb.SelectionPolicy; sp != nil {
		e.field(&first, "selection_policy")
		e.buf = append(e.buf, `{"policy":`...)
		e.string(sp.Policy)
		if len(sp.Weights) > 0 {
			e.buf = append(e.buf, `,"weights":[`...)
			for i, w := range sp.Weights {
				if i > 0 {
					e.buf = append(e.buf, ',')
				}
				e.int(int64(w))
			}
			e.buf = append(e.buf, ']')
		}
		e.buf = append(e.buf, '}')
	}
	if lb.Retries != 0 {
		e.field(&first, "retries")
		e.int(int64(lb.Retries))
	}
	if lb.TryDuration != 0 {
		e.field(&first, "try_duration")
		e.int(int64(lb.TryDuration))
	}
	if lb.TryInterval != 0 {
		e.field(&first, "try_interval")
		e.int(int64(lb.TryInterval))
	}
	if len(lb.RetryMatch) > 0 {
		e.field(&first, "retry_match")
		e.matcherSets(lb.RetryMatch)
	}
	e.buf = append(e.buf, '}')
}

func (e *encoder) staticResponse(s StaticResponse) {
	e.buf = append(e.buf, `{"handler":"static_response"`...)
	first := false
	if s.ID != "" {
		e.field(&first, "@id")
		e.string(s.ID)
	}
	if s.StatusCode != "" {
		e.field(&first, "status_code")
		if n, err := strconv.Atoi(string(s.StatusCode)); err == nil {
			e.int(int64(n))
		} else {
			e.string(string(s.StatusCode))
		}
	}
	if len(s.Headers) > 0 {
		e.field(&first, "headers")
		e.stringListMap(s.Headers)
	}
	if s.Body != "" {
		e.field(&first, "body")
		e.string(s.Body)
	}
	if s.Close {
		e.field(&first, "close")
		e.bool(true)
	}
	if s.Abort {
		e.field(&first, "abort")
		e.bool(true)
	}
	e.buf = append(e.buf, '}')
}
