package translate

import "strings"

// hostnameMatches reports whether a concrete or wildcard hostname pattern admits host. A
// wildcard "*.example.com" admits any name with at least one more label ("a.example.com",
// "a.b.example.com"), never "example.com" itself. An empty pattern admits everything.
func hostnameMatches(pattern, host string) bool {
	if pattern == "" {
		return true
	}
	if strings.HasPrefix(pattern, "*.") {
		suffix := pattern[1:] // ".example.com"
		return len(host) > len(suffix) && strings.HasSuffix(host, suffix)
	}
	return pattern == host
}

// intersectHostname returns the hostname a route hostname and a listener hostname have in
// common (the more specific of the two) and whether they intersect at all. Empty means "any".
func intersectHostname(listener, route string) (string, bool) {
	lWild, rWild := strings.HasPrefix(listener, "*."), strings.HasPrefix(route, "*.")
	switch {
	case listener == "":
		return route, true
	case route == "" || listener == route:
		return listener, true
	case lWild && rWild:
		// The wildcard that lies under the other one is the intersection.
		if strings.HasSuffix(route[1:], listener[1:]) {
			return route, true
		}
		if strings.HasSuffix(listener[1:], route[1:]) {
			return listener, true
		}
	case lWild && hostnameMatches(listener, route):
		return route, true
	case rWild && hostnameMatches(route, listener):
		return listener, true
	}
	return "", false
}

// hostnameLess orders hostnames for matching: exact names first (longer first), then
// wildcards (longer first), then the catch-all.
func hostnameLess(a, b string) bool {
	ra, rb := hostnameRank(a), hostnameRank(b)
	if ra != rb {
		return ra < rb
	}
	if len(a) != len(b) {
		return len(a) > len(b)
	}
	return a < b
}

func hostnameRank(h string) int {
	switch {
	case h == "":
		return 2
	case strings.HasPrefix(h, "*."):
		return 1
	}
	return 0
}
