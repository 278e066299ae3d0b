package kengine

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// The Escape functions turn a string a route author wrote into the value a Kengine config
// field must hold so that Kengine gives it its literal meaning, one function per kind of
// field, because Kengine gives different characters a special meaning in each. When no value
// can keep the literal meaning they return an error that says why, for the route's status.
// What each function guards against was read from the Caddy v2.11.9 source, cited per
// function; e2e/integration/escape_test.go checks them against a real Kengine.
//
// Every config string is carried in JSON, which encodes only valid UTF-8 (encoding/json
// replaces anything else with U+FFFD), so every function refuses invalid UTF-8.

// placeholderEscaper puts a backslash before each brace.
var placeholderEscaper = strings.NewReplacer(`{`, `\{`, `}`, `\}`)

// EscapePlaceholders returns s for a field that Kengine passes through its placeholder
// replacer, so that s comes out unchanged: header values of the headers handler (add, set,
// replace), of reverse_proxy's headers and of static_response, a static_response body, the
// rewrite handler's uri, and the replacement of a path_regexp rewrite. Use the function of
// the field's own context where there is one (EscapeHeaderValue, EscapeRewriteURIPath, ...):
// they call this one and check what else the field requires.
//
// The replacer (caddy replacer.go, Replacer.replace, shared by ReplaceAll, ReplaceKnown and
// ReplaceFunc) treats "{...}" as a placeholder. A brace right after a backslash is literal and
// that one backslash is dropped; every other backslash is kept, and a string without braces
// is returned untouched. So a backslash before every brace, and nothing else, is an exact
// escape: a backslash of s that precedes a brace stays, because the inserted one now sits
// between them ("\{" becomes "\\{" and comes out as "\{").
func EscapePlaceholders(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", errInvalidUTF8
	}
	return placeholderEscaper.Replace(s), nil
}

// errInvalidUTF8 is why a string that is not UTF-8 cannot reach Kengine.
var errInvalidUTF8 = errors.New("the Kengine config is JSON, which carries only valid UTF-8")

// EscapeHeaderValue returns v for a header value of the headers handler (add, set), of
// reverse_proxy's request or response headers, or of a static_response (such as the
// Location of a redirect). Kengine expands placeholders in them (headers.go
// HeaderOps.ApplyTo and staticresp.go ServeHTTP call ReplaceKnown), see EscapePlaceholders.
//
// It refuses values that HTTP cannot carry as they are: control characters other than
// horizontal tab (Go's transport refuses to send them upstream, and Go's server turns CR and
// LF into spaces in responses), and leading or trailing spaces and tabs, which are not part
// of a field value (RFC 9110 section 5.5; Go's server trims them from responses and every
// HTTP parser from requests).
func EscapeHeaderValue(v string) (string, error) {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return "", fmt.Errorf("header value %q: HTTP does not allow the control character %q in a header value", v, c)
		}
	}
	if strings.TrimLeft(v, " \t") != v || strings.TrimRight(v, " \t") != v {
		return "", fmt.Errorf("header value %q: HTTP strips leading and trailing whitespace from header values", v)
	}
	out, err := EscapePlaceholders(v)
	if err != nil {
		return "", fmt.Errorf("header value %q: %w", v, err)
	}
	return out, nil
}

// EscapeHeaderName returns name for a header field name that the headers handler adds or sets
// (a key of HeaderOps.Add or HeaderOps.Set), or that a static_response sets. Kengine passes
// the name through the placeholder replacer and canonicalizes its case (headers.go
// HeaderOps.ApplyTo and Provision, staticresp.go ServeHTTP); "*" has no special meaning here,
// unlike in EscapeDeletedHeaderName and as a key of HeaderOps.Replace (where "*" means every
// field; a replace key of any other name is literal).
//
// It refuses names that are not an HTTP token (RFC 9110 section 5.1): Go's transport refuses
// to send them. Tokens contain no brace, so no placeholder escaping is needed, and no "@",
// so a name can never be the "@id" key that Kengine reserves in config objects.
func EscapeHeaderName(name string) (string, error) {
	if name == "" {
		return "", errors.New("header name is empty")
	}
	for i := 0; i < len(name); i++ {
		if !isTokenChar(name[i]) {
			return "", fmt.Errorf("header name %q: HTTP does not allow %q in a header name", name, name[i])
		}
	}
	return name, nil
}

// EscapeDeletedHeaderName returns name for an entry of HeaderOps.Delete. Kengine treats "*"
// as every field, and a leading or trailing "*" as a wildcard for a suffix, a prefix or a
// substring (headers.go HeaderOps.ApplyTo), after placeholder replacement and with nothing
// to escape a star, so such names are refused. A star inside a name is literal.
func EscapeDeletedHeaderName(name string) (string, error) {
	out, err := EscapeHeaderName(name)
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(name, "*") || strings.HasSuffix(name, "*") {
		return "", fmt.Errorf("header name %q: Kengine treats a header name starting or ending with '*' as a wildcard when deleting", name)
	}
	return out, nil
}

// EscapeQueryName returns name for a key of the query matcher (MatcherSet.Query), so that it
// matches the query parameter of exactly that name. Kengine expands placeholders in the key
// and compares it with the keys of url.ParseQuery, that is with percent-decoded names
// (matchers.go MatchQuery.MatchWithError), so name is the decoded name, and any such name
// can be matched once its braces are escaped.
//
// The one name it refuses is "@id": Kengine reserves that key in every config object for
// object IDs, and a query matcher keyed "@id" makes the whole config fail to load (caddy.go
// indexConfigObjects requires a string or number there; the matcher holds a list).
func EscapeQueryName(name string) (string, error) {
	if name == idKey {
		return "", fmt.Errorf("query parameter name %q: Kengine reserves the key %q in its config for object IDs", name, idKey)
	}
	out, err := EscapePlaceholders(name)
	if err != nil {
		return "", fmt.Errorf("query parameter name %q: %w", name, err)
	}
	return out, nil
}

// idKey is the config object key that Kengine strips and indexes (caddy admin.go idKey).
const idKey = "@id"

// EscapeQueryValue returns value for a value of the query matcher, so that it matches
// exactly that (percent-decoded) parameter value. Kengine expands placeholders in the value,
// then treats the result "*" as matching any value (matchers.go MatchQuery.MatchWithError);
// no escape survives the replacer as a "*", so the value "*" cannot be matched by this
// matcher and is refused: the caller must match it with another matcher (an expression).
func EscapeQueryValue(value string) (string, error) {
	if value == "*" {
		return "", fmt.Errorf("query parameter value %q: Kengine's query matcher treats the value '*' as matching any value", value)
	}
	out, err := EscapePlaceholders(value)
	if err != nil {
		return "", fmt.Errorf("query parameter value %q: %w", value, err)
	}
	return out, nil
}

// EscapeRewriteURIPath returns the rewrite handler's uri (Rewrite.URI) that replaces the
// request path with path and keeps the query string, such that path is exactly the path the
// upstream receives on the wire (the request target up to "?"). path is in its wire form:
// it starts with "/" and its percent-escapes are escapes.
//
// Kengine (rewrite.go Rewrite.Rewrite) splits the configured uri at its first "?" (query)
// and first "#" (fragment, dropped), expands placeholders in the path, cuts the result again
// at "#" and "?", then percent-decodes it (url.PathUnescape, keeping the raw string when an
// escape is invalid) and clears URL.RawPath, so the upstream receives Go's canonical
// encoding of the decoded path (url.URL.EscapedPath). Hence only a path in that canonical
// form arrives unchanged: a non-canonical one (such as "%41" for "A", lowercase hex, or a
// literal "!", "'", "(", ")", "*", "[" or "]", which Go escapes) is refused with the form it
// would arrive in. A canonical path holds no "?", "#" or brace, so it needs no escaping.
// EscapePathRegexpReplacement keeps every valid encoding; a full-path replacement can use it
// with the pattern "^.*$".
func EscapeRewriteURIPath(path string) (string, error) {
	if !utf8.ValidString(path) {
		return "", fmt.Errorf("path %q: %w", path, errInvalidUTF8)
	}
	if !strings.HasPrefix(path, "/") {
		return "", fmt.Errorf("path %q: a rewritten path must start with '/'", path)
	}
	decoded, err := url.PathUnescape(path)
	if err != nil {
		return "", fmt.Errorf("path %q: Kengine decodes the percent-escapes of a rewritten path and this one is invalid: %w", path, err)
	}
	if canonical := (&url.URL{Path: decoded}).EscapedPath(); canonical != path {
		return "", fmt.Errorf("path %q: Kengine re-encodes a rewritten path in canonical form, so it would arrive as %q", path, canonical)
	}
	// A no-op on a canonical path; kept so that the value is safe for the replacer whatever
	// Go's canonical form ever includes.
	return EscapePlaceholders(path)
}

// EscapePathRegexpReplacement returns path for the replacement of a path_regexp rewrite
// (RegexReplacement.Replace), so that the matched part of the request path becomes exactly
// path on the wire; capture group references such as "$1" must be appended by the caller
// after escaping. path is in its wire form (percent-escapes are escapes); it may be empty,
// and the caller makes sure the resulting path starts with "/".
//
// Kengine (rewrite.go regexReplacer.do and changePath) expands placeholders in the
// replacement, then expands "$name" and "${name}" in it (regexp.Regexp.ReplaceAllString;
// "$$" is a literal "$"), and applies it to the request's escaped path. The result becomes
// URL.RawPath, and Go sends it as it is when it is a valid encoding (url.URL.EscapedPath:
// only RFC 3986 path characters, "[", "]" and valid percent-escapes), so any such path
// arrives unchanged, non-canonical escapes included. Anything else is refused, because the
// upstream would receive Go's re-encoding of the decoded path instead: raw spaces, "?",
// "#", braces, backslashes, non-ASCII characters (which must be written percent-encoded),
// and "%" not followed by two hex digits.
func EscapePathRegexpReplacement(path string) (string, error) {
	if !utf8.ValidString(path) {
		return "", fmt.Errorf("path %q: %w", path, errInvalidUTF8)
	}
	for i := 0; i < len(path); i++ {
		c := path[i]
		switch {
		case c == '%':
			if i+2 >= len(path) || !isHexDigit(path[i+1]) || !isHexDigit(path[i+2]) {
				return "", fmt.Errorf("path %q: '%%' must start a percent-escape of two hex digits", path)
			}
		case !isPathChar(c):
			return "", fmt.Errorf("path %q: %q must be percent-encoded in a path, and Kengine would send it re-encoded", path, c)
		}
	}
	return EscapePlaceholders(strings.ReplaceAll(path, "$", "$$"))
}

// isTokenChar reports whether c is a tchar of RFC 9110 section 5.6.2.
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// isPathChar reports whether c may appear unescaped in a path that Go sends as it is (Go's
// net/url validEncoded for paths): RFC 3986 unreserved, sub-delims, ":", "@", "/", and the
// "[" and "]" that Go lets through.
func isPathChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@/[]", c) >= 0
}

// isHexDigit reports whether c is a hexadecimal digit.
func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// PathToWire returns a path in the form it travels on the wire: every byte a path cannot
// carry as it is (a space, a brace, "?", "#", "%" that starts no escape, any non-ASCII byte)
// is percent-encoded, and valid percent-escapes are kept as they are. A Gateway API path such
// as "/a b/{x}" thus arrives as "/a%20b/%7Bx%7D", which the backend decodes back to what the
// route said; the result is accepted by EscapePathRegexpReplacement.
func PathToWire(path string) string {
	var b strings.Builder
	for i := 0; i < len(path); i++ {
		c := path[i]
		switch {
		case c == '%' && i+2 < len(path) && isHexDigit(path[i+1]) && isHexDigit(path[i+2]):
			b.WriteByte(c)
		case c != '%' && isPathChar(c):
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// WholeValueRegexp is the pattern given to Kengine's regular expression matchers for an
// expression that must match a whole value (a path or a header), as the Gateway API's
// RegularExpression matches do. Translate checks the cost of exactly this pattern, and render
// writes exactly it.
func WholeValueRegexp(expr string) string { return "^(?:" + expr + ")$" }
