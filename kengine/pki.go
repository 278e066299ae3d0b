package kengine

import "fmt"

// PKIApp is the pki app: certificate authorities that the internal issuer signs with.
type PKIApp struct {
	// CertificateAuthorities are the CAs, by ID; InternalIssuer.CA refers to an ID.
	CertificateAuthorities map[string]*PKICA `json:"certificate_authorities,omitempty"`
}

// PKICA is one certificate authority.
type PKICA struct {
	// Name is the user-facing name of the CA.
	Name string `json:"name,omitempty"`

	// RootCommonName is the CommonName of a generated root.
	RootCommonName string `json:"root_common_name,omitempty"`

	// IntermediateCommonName is the CommonName of generated intermediates.
	IntermediateCommonName string `json:"intermediate_common_name,omitempty"`

	// IntermediateLifetime is the validity of generated intermediates.
	IntermediateLifetime Duration `json:"intermediate_lifetime,omitempty"`

	// InstallTrust installs the root into the system, Java and Firefox trust stores.
	// Default: true, so the controller always sets it to false.
	InstallTrust *bool `json:"install_trust,omitempty"`

	// Root is the root certificate; nil generates one.
	Root *KeyPair `json:"root,omitempty"`

	// Intermediate is the signing certificate; nil generates one from the root. Giving an
	// intermediate without its root's key keeps the root key out of the pods.
	Intermediate *KeyPair `json:"intermediate,omitempty"`
}

// KeyPair is a certificate and its private key, given as PEM file paths. Its String and
// GoString (used by %v, %+v, %s and %#v) hide the key reference. It cannot implement
// fmt.Formatter because of its Format field; the key itself never appears in the config.
type KeyPair struct {
	// Certificate is the path of the PEM certificate (chain).
	Certificate string `json:"certificate,omitempty"`

	// PrivateKey is the path of the PEM private key. Treated as secret.
	PrivateKey string `json:"private_key,omitempty"`

	// Format is the format of both fields; only "pem_file" (the default) exists.
	Format string `json:"format,omitempty"`
}

// String describes the key pair without its private key.
func (k KeyPair) String() string {
	return fmt.Sprintf("KeyPair{Certificate: %q, PrivateKey: %s, Format: %q}",
		k.Certificate, redacted(k.PrivateKey), k.Format)
}

// GoString describes the key pair without its private key, for %#v.
func (k KeyPair) GoString() string { return k.String() }
