package kengine

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

// configWithHandlers is a one-server config whose only route runs handlers.
func configWithHandlers(handlers ...Handler) *Config {
	return &Config{Apps: Apps{HTTP: &HTTPApp{Servers: map[string]*Server{
		"s": {Listen: []string{":80"}, Routes: []Route{{Handle: handlers}}},
	}}}}
}

func TestFinalize(t *testing.T) {
	c := configWithHandlers(StaticResponse{Body: "hello"}, VersionMarker())
	plain, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	data, version, err := Finalize(c)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(plain)
	if want := hex.EncodeToString(sum[:]); version != want {
		t.Errorf("version = %s, want sha256 of the bytes with the placeholder %s", version, want)
	}
	if len(data) != len(plain) {
		t.Errorf("finalized length %d, want %d (same as before)", len(data), len(plain))
	}
	if want := bytes.Replace(plain, []byte(VersionPlaceholder), []byte(version), 1); !bytes.Equal(data, want) {
		t.Errorf("Finalize = %s, want %s", data, want)
	}
	if bytes.Contains(data, []byte(VersionPlaceholder)) {
		t.Error("placeholder still present")
	}

	// Same input, same output; different input, different version.
	again, againVersion, err := Finalize(configWithHandlers(StaticResponse{Body: "hello"}, VersionMarker()))
	if err != nil || againVersion != version || !bytes.Equal(again, data) {
		t.Errorf("Finalize is not deterministic: %s %s %v", againVersion, again, err)
	}
	_, otherVersion, err := Finalize(configWithHandlers(StaticResponse{Body: "bye"}, VersionMarker()))
	if err != nil || otherVersion == version {
		t.Errorf("different configs got the same version %s (err %v)", otherVersion, err)
	}
}

func TestFinalizeNeedsExactlyOnePlaceholder(t *testing.T) {
	tests := []struct {
		name    string
		config  *Config
		wantErr string
	}{
		{"missing", configWithHandlers(StaticResponse{Body: "x"}), "found 0"},
		{"twice", configWithHandlers(VersionMarker(), StaticResponse{Body: VersionPlaceholder}), "found 2"},
		{
			name: "longer run of zeros is not a marker",
			// 65 zeros contain the placeholder as a substring but not as a whole string.
			config:  configWithHandlers(StaticResponse{Body: VersionPlaceholder + "0"}),
			wantErr: "found 0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Finalize(tt.config)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Finalize error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestVersionPlaceholderShape(t *testing.T) {
	if len(VersionPlaceholder) != hex.EncodedLen(sha256.Size) || strings.Trim(VersionPlaceholder, "0") != "" {
		t.Errorf("VersionPlaceholder must be %d zeros", hex.EncodedLen(sha256.Size))
	}
}
