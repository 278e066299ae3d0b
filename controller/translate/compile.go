package translate

import (
	"crypto/x509"
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	"golang.org/x/net/idna"
)

// Validation equals compilation: every value a route or listener contributes is checked here
// in the exact form Kengine compiles it, with the function Kengine uses, so that a value
// translate accepts can never make a pod reject the whole config (and stall every other
// tenant of the Gateway). Render builds those forms with the same functions.

// checkHostname checks a Gateway API hostname the way Kengine's host matcher provisions it
// (golang.org/x/net/idna ToASCII; modules/caddyhttp MatchHost.Provision): a label such as
// "xn--0" that is not valid punycode makes Kengine refuse the whole config. A wildcard is
// checked without its "*." prefix, which render turns into a regular expression.
func checkHostname(h string) error {
	name := strings.TrimPrefix(h, "*.")
	if name == "" {
		return nil
	}
	if _, err := idna.ToASCII(name); err != nil {
		return fmt.Errorf("hostname %q is not a valid internationalized domain name: %v", h, err)
	}
	return nil
}

// sniHostname is the Gateway API Hostname pattern (RFC 1123 names in lower case, with an
// optional leading "*." label).
var sniHostname = regexp.MustCompile(`^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// checkSNIHostname checks a TLSRoute hostname, which becomes an SNI matcher. Kengine's SNI
// matcher expands placeholders in the names it is given, so a name must hold nothing but the
// characters of a DNS name; it may not be an IP address (RFC 6066 sends none as SNI). The
// CRD says the same, and is not relied on.
func checkSNIHostname(h string) error {
	if len(h) > 253 || !sniHostname.MatchString(h) {
		return fmt.Errorf("hostname %q is not a lower-case DNS name (RFC 1123), optionally with a leading \"*.\" label", h)
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return fmt.Errorf("hostname %q is an IP address, which TLS never sends as a server name", h)
	}
	return nil
}

// certificateNames lists the names Kengine's certificate cache indexes a certificate under
// (certmagic fillCertFromLeaf: the common name, then the DNS names, IP addresses, e-mail
// addresses and URIs that differ from it). Kengine refuses a config holding a certificate
// without any.
func certificateNames(leaf *x509.Certificate) []string {
	cn := leaf.Subject.CommonName
	var names []string
	if cn != "" {
		names = append(names, strings.ToLower(cn))
	}
	add := func(n string, lower bool) {
		if n == cn {
			return
		}
		if lower {
			n = strings.ToLower(n)
		}
		names = append(names, n)
	}
	for _, n := range leaf.DNSNames {
		add(n, true)
	}
	for _, ip := range leaf.IPAddresses {
		add(ip.String(), true)
	}
	for _, e := range leaf.EmailAddresses {
		add(e, true)
	}
	for _, u := range leaf.URIs {
		add(u.String(), false)
	}
	return names
}
