package kengine

import (
	"encoding/json"
	"fmt"
	"io"
)

// TLSApp is the tls app: the certificates Kengine serves and how it manages them.
type TLSApp struct {
	// Certificates loads certificates that Kengine does not manage.
	Certificates *Certificates `json:"certificates,omitempty"`

	// Automation configures certificate management.
	Automation *TLSAutomation `json:"automation,omitempty"`

	// DisableOCSPStapling turns off OCSP stapling for the loaded (unmanaged) certificates,
	// which otherwise makes Kengine fetch OCSP responses from the responders they name.
	DisableOCSPStapling bool `json:"disable_ocsp_stapling,omitempty"`

	// DisableStorageClean turns off the periodic cleanup of the certificate storage.
	DisableStorageClean bool `json:"disable_storage_clean,omitempty"`
}

// Certificates lists certificate loaders, keyed by loader name.
type Certificates struct {
	// LoadPEM loads certificates and keys given inline as PEM.
	LoadPEM []PEMCertificate `json:"load_pem,omitempty"`
}

// PEMCertificate is a certificate chain and its private key, both PEM-encoded. Formatting it
// with fmt never shows the key.
type PEMCertificate struct {
	// Certificate is the PEM certificate chain, leaf first.
	Certificate string `json:"certificate"`

	// Key is the PEM private key. Secret.
	Key string `json:"key"`

	// Tags label the certificate so that connection policies can select it.
	Tags []string `json:"tags,omitempty"`
}

// String describes the certificate without its key.
func (c PEMCertificate) String() string {
	return fmt.Sprintf("PEMCertificate{Certificate: %d bytes, Key: %s, Tags: %q}",
		len(c.Certificate), redacted(c.Key), c.Tags)
}

// GoString describes the certificate without its key, for %#v.
func (c PEMCertificate) GoString() string { return c.String() }

// Format writes String() for every verb, so that no verb, flag or nesting reveals the key.
func (c PEMCertificate) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// redacted stands in for a secret in formatted output.
func redacted(secret string) string {
	if secret == "" {
		return "<empty>"
	}
	return "<redacted>"
}

// TLSAutomation configures certificate management.
type TLSAutomation struct {
	// Policies choose issuers and settings per subject; the first matching policy wins.
	Policies []AutomationPolicy `json:"policies,omitempty"`
}

// AutomationPolicy configures how the certificates for some subjects are obtained.
type AutomationPolicy struct {
	// Subjects are the names the policy applies to; empty applies to all names.
	Subjects []string `json:"subjects,omitempty"`

	// Issuers obtain the certificates, each an object keyed by "module"; see InternalIssuer.
	Issuers []json.RawMessage `json:"issuers,omitempty"`

	// DisableOCSPStapling turns off OCSP stapling for these certificates.
	DisableOCSPStapling bool `json:"disable_ocsp_stapling,omitempty"`
}

// TLSConnectionPolicy configures the TLS handshakes it matches.
type TLSConnectionPolicy struct {
	// Match chooses the handshakes this policy applies to; nil matches all.
	Match *TLSHandshakeMatch `json:"match,omitempty"`

	// CertificateSelection restricts the certificates this policy may serve.
	CertificateSelection *CertSelection `json:"certificate_selection,omitempty"`

	// CipherSuites lists the allowed cipher suites, by Go name.
	CipherSuites []string `json:"cipher_suites,omitempty"`

	// ALPN lists the application protocols to offer, such as "h2" and "http/1.1". Nil offers
	// Kengine's default (h2 and http/1.1); an empty, non-nil list offers none, as a proxy of
	// opaque streams must, since it cannot speak what the client would choose.
	ALPN []string `json:"alpn,omitzero"`

	// ProtocolMin is the lowest TLS version: "tls1.2" or "tls1.3". Default: tls1.2.
	ProtocolMin string `json:"protocol_min,omitempty"`

	// ProtocolMax is the highest TLS version. Default: tls1.3.
	ProtocolMax string `json:"protocol_max,omitempty"`

	// Drop closes the connection instead of completing the handshake.
	Drop bool `json:"drop,omitempty"`

	// ClientAuthentication requests or requires client certificates.
	ClientAuthentication *ClientAuthentication `json:"client_authentication,omitempty"`

	// DefaultSNI is the server name assumed when the client sends none.
	DefaultSNI string `json:"default_sni,omitempty"`

	// FallbackSNI is the server name used when the client's has no certificate.
	FallbackSNI string `json:"fallback_sni,omitempty"`
}

// TLSHandshakeMatch lists handshake matchers, keyed by matcher name; all must match.
type TLSHandshakeMatch struct {
	// SNI matches the server name; "*.example.com" matches one label.
	SNI []string `json:"sni,omitempty"`

	// SNIRegexp matches the server name with a regular expression, for wildcards that cover
	// more than one label.
	SNIRegexp *RegexpMatcher `json:"sni_regexp,omitempty"`

	// ALPN matches an offered application protocol. Provided by the layer4 module.
	ALPN []string `json:"alpn,omitempty"`
}

// CertSelection restricts which loaded certificates a connection policy serves.
type CertSelection struct {
	// AnyTag selects certificates with at least one of these tags.
	AnyTag []string `json:"any_tag,omitempty"`

	// AllTags selects certificates with all of these tags.
	AllTags []string `json:"all_tags,omitempty"`
}

// ClientAuthentication configures client certificate checks.
type ClientAuthentication struct {
	// CA is the pool of authorities trusted to sign client certificates.
	CA CAPool `json:"ca,omitempty"`

	// TrustedLeafCerts are base64-encoded DER client certificates accepted as they are.
	TrustedLeafCerts []string `json:"trusted_leaf_certs,omitempty"`

	// Mode is "request", "require", "verify_if_given" or "require_and_verify". Default:
	// require_and_verify when a CA or leaf certificates are given.
	Mode string `json:"mode,omitempty"`
}
