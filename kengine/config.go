package kengine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Config is the whole Kengine configuration document that POST /load replaces atomically.
type Config struct {
	// Admin configures the admin endpoint. Every pushed config replaces this block too, so it
	// must always carry the same secure settings or the controller locks itself out. It must
	// stay the first field: Finalize writes the version at a fixed offset inside it.
	Admin *Admin `json:"admin,omitempty"`

	// Logging is Kengine's logging block, passed through untouched.
	Logging json.RawMessage `json:"logging,omitempty"`

	// Apps holds the app modules to run.
	Apps Apps `json:"apps"`
}

// Apps holds the app modules the controller configures, keyed by their module names.
type Apps struct {
	// HTTP is the http app: HTTP servers and their routes.
	HTTP *HTTPApp `json:"http,omitempty"`

	// TLS is the tls app: certificates, automation policies and session settings.
	TLS *TLSApp `json:"tls,omitempty"`

	// Layer4 is the layer4 app (caddy-l4): raw TCP and UDP servers.
	Layer4 *Layer4App `json:"layer4,omitempty"`

	// PKI is the pki app: certificate authorities, such as the one behind the admin identity.
	PKI *PKIApp `json:"pki,omitempty"`
}

// Admin configures Kengine's admin endpoint.
type Admin struct {
	// ID is the block's "@id", which Kengine indexes for GET /id/<ID> and strips before it
	// decodes the config. Finalize sets it to VersionAdminID(version) in the copy it encodes;
	// it must stay the first field so that the version sits at a fixed offset.
	ID string `json:"@id,omitempty"`

	// Disabled turns the local admin endpoint off entirely.
	Disabled bool `json:"disabled,omitempty"`

	// Listen is the local admin endpoint's address; it accepts placeholders such as
	// {env.POD_IP}:2019. Default: localhost:2019. Kengine checks the Host header of requests
	// against this address unless it is a wildcard interface (":2019").
	Listen string `json:"listen,omitempty"`

	// EnforceOrigin makes the local endpoint require a matching Origin header on every request.
	EnforceOrigin bool `json:"enforce_origin,omitempty"`

	// Origins lists the Hosts and Origins the local endpoint accepts; nil means the listen
	// address only.
	Origins []string `json:"origins,omitempty"`

	// Config controls what Kengine does with the configs it receives.
	Config *AdminConfig `json:"config,omitempty"`

	// Identity gives the instance a certificate, which the remote endpoint serves.
	Identity *AdminIdentity `json:"identity,omitempty"`

	// Remote serves the admin API over mutual TLS to the clients it lists.
	Remote *RemoteAdmin `json:"remote,omitempty"`
}

// AdminConfig controls how Kengine keeps the configs it receives.
type AdminConfig struct {
	// Persist controls whether the last loaded config is saved to disk so that `run --resume`
	// can restart from it. Default: true.
	Persist *bool `json:"persist,omitempty"`
}

// AdminIdentity configures the certificate the instance obtains for itself.
type AdminIdentity struct {
	// Identifiers are the names and IP addresses the identity certificate covers. A client
	// that connects by IP without SNI is served the certificate for that IP.
	Identifiers []string `json:"identifiers,omitempty"`

	// Issuers obtain the identity certificate, each an object keyed by "module". Without any,
	// Kengine falls back to public ACME issuers, so the controller always sets one
	// (InternalIssuer).
	Issuers []json.RawMessage `json:"issuers,omitempty"`
}

// RemoteAdmin serves the admin API over TLS to clients with known certificates.
type RemoteAdmin struct {
	// Listen is the secure endpoint's address; it accepts placeholders. Default: :2021.
	Listen string `json:"listen,omitempty"`

	// AccessControl lists the client identities allowed in and what each may do.
	AccessControl []AdminAccess `json:"access_control,omitempty"`
}

// AdminAccess grants permissions to a set of client certificates.
type AdminAccess struct {
	// PublicKeys are base64-encoded DER certificates (the body of a PEM block, without the
	// armor) whose public keys are accepted anywhere in the client's verified chain.
	PublicKeys []string `json:"public_keys,omitempty"`

	// Permissions limits what these clients may do; empty grants everything. Note that
	// /id/<id> requests are redirected internally to /config/<path> and checked again; the
	// controller needs ControllerPermissions.
	Permissions []AdminPermissions `json:"permissions,omitempty"`
}

// AdminPermissions allows some methods on some admin API paths.
type AdminPermissions struct {
	// Paths are the allowed API paths; a request path must equal one or lie below it.
	Paths []string `json:"paths,omitempty"`

	// Methods are the allowed HTTP methods; empty allows all.
	Methods []string `json:"methods,omitempty"`
}

// InternalIssuer is the "internal" certificate issuer: it signs certificates with a
// certificate authority of the pki app and never calls out.
type InternalIssuer struct {
	// Module is the inline "module": "internal" member that names the module; it holds no value.
	Module module[InternalIssuer] `json:"module"`

	// CA is the ID of the pki certificate authority to sign with. Default: "local".
	CA string `json:"ca,omitempty"`

	// Lifetime is the validity period of the certificates it issues.
	Lifetime Duration `json:"lifetime,omitempty"`

	// SignWithRoot signs with the root instead of the intermediate certificate.
	SignWithRoot bool `json:"sign_with_root,omitempty"`
}

// RawMessage returns the issuer as an entry for AdminIdentity.Issuers or
// AutomationPolicy.Issuers.
func (i InternalIssuer) RawMessage() json.RawMessage {
	data, err := encodeJSON(i)
	if err != nil {
		// Only strings and integers: encoding cannot fail.
		panic(fmt.Sprintf("kengine: encoding internal issuer: %v", err))
	}
	return data
}

// Duration is a Kengine duration. It encodes as integer nanoseconds, which Kengine accepts as
// readily as a duration string and which never depends on formatting.
type Duration time.Duration

// WeakString is a value Kengine accepts as either a JSON number or a string. It encodes as a
// number when it holds an integer (for example a status code) and as a string otherwise (for
// example a placeholder).
type WeakString string

// MarshalJSON encodes integers as numbers and anything else as a string.
func (w WeakString) MarshalJSON() ([]byte, error) {
	if n, err := strconv.Atoi(string(w)); err == nil {
		return strconv.AppendInt(nil, int64(n), 10), nil
	}
	return encodeJSON(string(w))
}

// Marshal encodes the config as compact JSON. The output is deterministic: struct fields keep
// their order, map keys are sorted, and nothing is HTML-escaped.
func (c *Config) Marshal() ([]byte, error) {
	data, err := marshalConfig(c, 0)
	if err != nil {
		return nil, fmt.Errorf("kengine: encoding config: %w", err)
	}
	return data, nil
}

// encodeJSON encodes v without HTML escaping and without the encoder's trailing newline.
// Nested MarshalJSON methods use it too, so that no part of the document escapes differently.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// module is the inline member ("handler": "subroute", "protocol": "http", ...) with which
// Kengine tells the modules of a list apart. It is a field of zero size whose value comes from
// its type parameter, so a module always names itself and needs no MarshalJSON of its own: the
// encoder then writes nested modules once, instead of re-validating each module's JSON at every
// level of nesting.
type module[T interface{ moduleName() string }] struct{}

// MarshalJSON writes the module's name.
func (module[T]) MarshalJSON() ([]byte, error) {
	var t T
	return encodeJSON(t.moduleName())
}

// UnmarshalJSON accepts the module's own name only.
func (*module[T]) UnmarshalJSON(data []byte) error {
	var t T
	var name string
	if err := json.Unmarshal(data, &name); err != nil {
		return err
	}
	if name != t.moduleName() {
		return fmt.Errorf("kengine: module %q where %q was expected", name, t.moduleName())
	}
	return nil
}

// rawModuleName reads the inline key of a raw module, or "" when the JSON has none.
func rawModuleName(raw []byte, key string) string {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return ""
	}
	var name string
	if err := json.Unmarshal(fields[key], &name); err != nil {
		return ""
	}
	return name
}

// marshalRaw returns raw JSON as it is, or null when it is empty.
func marshalRaw(raw []byte) ([]byte, error) {
	if len(raw) == 0 {
		return []byte("null"), nil
	}
	return raw, nil
}

func (InternalIssuer) moduleName() string { return "internal" }
