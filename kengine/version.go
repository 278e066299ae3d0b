package kengine

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// versionIDPrefix starts the "@id" of the admin block; the version follows it. A pod that runs
// a config with version v answers GET /id/<versionIDPrefix><v> (see RunsVersion).
const versionIDPrefix = "kengine-gateway-version-"

// versionLength is the length of a version: a hex SHA-256.
const versionLength = 2 * sha256.Size

// versionZeros stands in for the version while the config is hashed.
var versionZeros = strings.Repeat("0", versionLength)

// versionedStart is how every finalized config begins. Config encodes Admin first and Admin
// encodes ID first, so the version sits at a fixed offset and no search is needed; and because
// it precedes every other byte of the document, no string a route author writes can be
// mistaken for it.
const versionedStart = `{"admin":{"@id":"` + versionIDPrefix

// VersionAdminID returns the "@id" that Finalize gives the admin block of a config with this
// version. Kengine indexes it when it loads the config, so GET /id/<VersionAdminID(v)> succeeds
// exactly on pods that run version v.
func VersionAdminID(version string) string {
	return versionIDPrefix + version
}

// Finalize encodes c and stamps it with its version: the admin block's "@id" is
// VersionAdminID(version), where version is the hex SHA-256 of the encoded bytes as they are
// with 64 zeros in place of the version. Identical configs get identical bytes and versions,
// so a pod can tell whether it already runs a config. c must have an admin block; neither c
// nor its admin block is changed (any ID already set is ignored).
func Finalize(c *Config) (data []byte, version string, err error) {
	return FinalizeSized(c, 0)
}

// FinalizeSized is Finalize for a config expected to encode to about size bytes (for example
// the size of the config it replaces), which it then encodes with one allocation of that
// size; size ≤ 0 is no estimate.
func FinalizeSized(c *Config, size int) (data []byte, version string, err error) {
	if c == nil {
		return nil, "", errors.New("kengine: finalize: no config")
	}
	if c.Admin == nil {
		return nil, "", errors.New("kengine: finalize: the config has no admin block to carry its version")
	}
	// Stamp copies: the caller's config may be shared (a render cache, a test table).
	admin := *c.Admin
	admin.ID = VersionAdminID(versionZeros)
	stamped := *c
	stamped.Admin = &admin
	data, err = marshalConfig(&stamped, size)
	if err != nil {
		return nil, "", fmt.Errorf("kengine: encoding config: %w", err)
	}
	// Guards the layout assumption (Admin first in Config, ID first in Admin) that the fixed
	// offset below relies on.
	if !bytes.HasPrefix(data, []byte(versionedStart+versionZeros+`"`)) {
		return nil, "", fmt.Errorf("kengine: finalize: encoded config does not start with %s", versionedStart)
	}
	sum := sha256.Sum256(data)
	version = hex.EncodeToString(sum[:])
	copy(data[len(versionedStart):], version)
	return data, version, nil
}

// isVersion reports whether s has the form of a version Finalize returns.
func isVersion(s string) bool {
	if len(s) != versionLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
