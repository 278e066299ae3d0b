package render

import (
	"encoding/binary"
	"slices"

	"github.com/khulnasoft/gateway/controller/ir"
	"github.com/khulnasoft/gateway/kengine"
)

// Cache keeps the encoded routes of a virtual host from one render to the next, so that a
// render whose model changed in a few routes encodes only their hosts again. Render makes the
// keys, and a key holds everything the fragment depends on (the virtual host's model routes
// in full and the options that reach them), so an entry is either right for the model or never
// found: nothing has to be invalidated. The controller owns the store; render stays a pure
// function of the model and the options.
type Cache interface {
	// Fragment returns the fragment stored under key. key is only valid during the call.
	Fragment(key []byte) (*Fragment, bool)
	// StoreFragment stores f under key. key is only valid during the call.
	StoreFragment(key []byte, f *Fragment)
}

// Fragment is the rendered and encoded subroute of one virtual host, with what rendering it
// told the rest of the config (the failure servers its routes send traffic to).
type Fragment struct {
	handler      kengine.EncodedHandler
	failurePorts []int
	failureH2C   bool
}

// Size is the length of the fragment's encoding.
func (f *Fragment) Size() int { return f.handler.Size() }

// virtualHostHandler renders the subroute holding a virtual host's routes, most precedent
// first, then a 404 for the requests none of them matches; from opts.Cache when it holds it.
func (r *renderer) virtualHostHandler(vh *ir.VirtualHost) kengine.Handler {
	if r.opts.Cache == nil {
		return r.virtualHostSubroute(vh)
	}
	r.key = appendVirtualHostKey(r.key[:0], r.opts, vh)
	if f, ok := r.opts.Cache.Fragment(r.key); ok {
		r.noteFailures(f.failurePorts, f.failureH2C)
		return f.handler
	}
	// Rendered on its own, so that what it records is known.
	own := &renderer{opts: r.opts}
	sub := own.virtualHostSubroute(vh)
	ports := make([]int, 0, len(own.failurePorts))
	for s := range own.failurePorts {
		ports = append(ports, s)
	}
	slices.Sort(ports)
	r.noteFailures(ports, own.failureH2C)
	if own.err != nil {
		r.keep(own.err)
		return sub
	}
	h, err := kengine.EncodeHandler(sub)
	if err != nil {
		r.keep(err)
		return sub
	}
	r.opts.Cache.StoreFragment(r.key, &Fragment{handler: h, failurePorts: ports, failureH2C: own.failureH2C})
	return h
}

// virtualHostSubroute renders a virtual host's routes.
func (r *renderer) virtualHostSubroute(vh *ir.VirtualHost) kengine.Subroute {
	routes := make([]kengine.Route, 0, len(vh.Routes)+1)
	for _, rt := range vh.Routes {
		routes = append(routes, r.httpRoute(rt))
	}
	routes = append(routes, notFoundRoute())
	return kengine.Subroute{Routes: routes}
}

// noteFailures records failure servers that some route sends traffic to.
func (r *renderer) noteFailures(statuses []int, h2c bool) {
	if len(statuses) > 0 && r.failurePorts == nil {
		r.failurePorts = map[int]bool{}
	}
	for _, s := range statuses {
		r.failurePorts[s] = true
	}
	r.failureH2C = r.failureH2C || h2c
}

// The key of a virtual host is a compact, unambiguous encoding of every input its subroute
// depends on: the options render reads while rendering routes, and every field of every model
// route, in order. Strings and lists carry their length, nil and empty lists differ, and
// pointers say whether they are set. TestVirtualHostKeyCoversEveryField fails when a field
// of the model routes is missing here.

func appendVirtualHostKey(b []byte, opts Options, vh *ir.VirtualHost) []byte {
	b = keyString(b, opts.ListenHost)
	b = keyInt(b, int64(opts.HealthPort))
	b = keyInt(b, int64(len(vh.Routes)))
	for _, rt := range vh.Routes {
		b = keyRoute(b, rt)
	}
	return b
}

func keyInt(b []byte, n int64) []byte { return binary.AppendVarint(b, n) }

func keyBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func keyString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// keyLen writes a list's length, with nil apart from empty.
func keyLen(b []byte, n int, isNil bool) []byte {
	if isNil {
		return append(b, 0)
	}
	return binary.AppendUvarint(b, uint64(n)+1)
}

func keyStrings(b []byte, ss []string) []byte {
	b = keyLen(b, len(ss), ss == nil)
	for _, s := range ss {
		b = keyString(b, s)
	}
	return b
}

func keyRoute(b []byte, rt *ir.HTTPRoute) []byte {
	if rt == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	s := rt.Source
	b = keyString(b, s.Kind)
	b = keyString(b, s.Namespace)
	b = keyString(b, s.Name)
	b = keyInt(b, int64(s.Rule))
	b = keyInt(b, int64(s.Match))
	b = keyString(b, s.RuleName)

	b = keyString(b, string(rt.Match.Path.Kind))
	b = keyString(b, rt.Match.Path.Value)
	b = keyStringMatches(b, rt.Match.Headers)
	b = keyStringMatches(b, rt.Match.Query)
	b = keyString(b, rt.Match.Method)

	b = keyFilters(b, rt.Filters)
	if rd := rt.Redirect; rd == nil {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = keyString(b, rd.Scheme)
		b = keyString(b, rd.Hostname)
		b = keyInt(b, int64(rd.Port))
		b = keyPathRewrite(b, rd.Path)
		b = keyInt(b, int64(rd.StatusCode))
	}
	if rt.Response == nil {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = keyInt(b, int64(rt.Response.StatusCode))
	}
	b = keyLen(b, len(rt.Backends), rt.Backends == nil)
	for i := range rt.Backends {
		b = keyBackend(b, &rt.Backends[i])
	}
	if rt.Timeouts == nil {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = keyInt(b, int64(rt.Timeouts.BackendResponse))
	}
	if rr := rt.Retry; rr == nil {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = keyInt(b, int64(rr.Attempts))
		b = keyLen(b, len(rr.Statuses), rr.Statuses == nil)
		for _, s := range rr.Statuses {
			b = keyInt(b, int64(s))
		}
		b = keyInt(b, int64(rr.Backoff))
	}
	return b
}

func keyStringMatches(b []byte, ms []ir.StringMatch) []byte {
	b = keyLen(b, len(ms), ms == nil)
	for _, m := range ms {
		b = keyString(b, m.Name)
		b = keyBool(b, m.Regex)
		b = keyString(b, m.Value)
	}
	return b
}

func keyPathRewrite(b []byte, p *ir.PathRewrite) []byte {
	if p == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	b = keyBool(b, p.ReplacePrefix)
	b = keyString(b, p.Prefix)
	return keyString(b, p.Replacement)
}

func keyHeaderEdits(b []byte, h *ir.HeaderEdits) []byte {
	if h == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	for _, hs := range [][]ir.Header{h.Set, h.Add} {
		b = keyLen(b, len(hs), hs == nil)
		for _, x := range hs {
			b = keyString(b, x.Name)
			b = keyString(b, x.Value)
		}
	}
	return keyStrings(b, h.Remove)
}

func keyFilters(b []byte, fs []ir.HTTPFilter) []byte {
	b = keyLen(b, len(fs), fs == nil)
	for i := range fs {
		f := &fs[i]
		b = keyHeaderEdits(b, f.RequestHeaders)
		b = keyHeaderEdits(b, f.ResponseHeaders)
		if f.Rewrite == nil {
			b = append(b, 0)
		} else {
			b = append(b, 1)
			b = keyPathRewrite(b, f.Rewrite.Path)
			b = keyString(b, f.Rewrite.Hostname)
		}
		if c := f.CORS; c == nil {
			b = append(b, 0)
		} else {
			b = append(b, 1)
			b = keyBool(b, c.AnyOrigin)
			b = keyLen(b, len(c.AllowOrigins), c.AllowOrigins == nil)
			for _, o := range c.AllowOrigins {
				b = keyString(b, o.Scheme)
				b = keyString(b, o.Host)
				b = keyInt(b, int64(o.Port))
			}
			b = keyBool(b, c.AnyMethod)
			b = keyStrings(b, c.AllowMethods)
			b = keyBool(b, c.AnyHeader)
			b = keyStrings(b, c.AllowHeaders)
			b = keyStrings(b, c.ExposeHeaders)
			b = keyBool(b, c.AllowCredentials)
			b = keyInt(b, int64(c.MaxAge))
		}
	}
	return b
}

func keyBackend(b []byte, be *ir.Backend) []byte {
	b = keyString(b, be.Name)
	b = keyInt(b, int64(be.Weight))
	b = keyStrings(b, be.Endpoints)
	b = keyInt(b, int64(be.Failure))
	b = keyString(b, string(be.Protocol))
	if t := be.TLS; t == nil {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = keyString(b, t.ServerName)
		b = keyStrings(b, t.CACertificates)
		b = keyStrings(b, t.SubjectAltNames)
		b = keyString(b, t.ClientCertificateTag)
	}
	return keyFilters(b, be.Filters)
}
