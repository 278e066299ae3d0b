package kengine

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// VersionID is the "@id" of the static_response handler that carries the config version. A
// pod reports the version it runs through GET /id/<VersionID>.
const VersionID = "kengine-gateway-version"

// VersionPlaceholder is the Body of the version handler before Finalize replaces it with the
// version, a hex SHA-256 of the same length.
const VersionPlaceholder = "0000000000000000000000000000000000000000000000000000000000000000"

// VersionMarker returns the handler that carries the version; a rendered config contains it
// exactly once.
func VersionMarker() StaticResponse {
	return StaticResponse{ID: VersionID, Body: VersionPlaceholder}
}

// Finalize encodes c and stamps it with its version: the hex SHA-256 of the encoded bytes as
// they are with the placeholder, written in place of the placeholder. Identical configs get
// identical bytes and versions, so a pod can tell whether it already runs a config. It fails
// unless the placeholder occurs exactly once.
func Finalize(c *Config) (data []byte, version string, err error) {
	data, err = c.Marshal()
	if err != nil {
		return nil, "", err
	}
	// Look for the whole JSON string, so that a longer run of zeros elsewhere (a header
	// value, a hash) cannot be mistaken for the marker.
	quoted := []byte(`"` + VersionPlaceholder + `"`)
	if n := bytes.Count(data, quoted); n != 1 {
		return nil, "", fmt.Errorf("kengine: config must contain the version placeholder exactly once, found %d", n)
	}
	sum := sha256.Sum256(data)
	version = hex.EncodeToString(sum[:])
	at := bytes.Index(data, quoted) + 1
	copy(data[at:at+len(VersionPlaceholder)], version)
	return data, version, nil
}
