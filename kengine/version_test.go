package kengine

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// configWithHandlers is a one-server config with an admin block whose only route runs
// handlers.
func configWithHandlers(handlers ...Handler) *Config {
	return &Config{
		Admin: &Admin{Listen: "localhost:2019"},
		Apps: Apps{HTTP: &HTTPApp{Servers: map[string]*Server{
			"s": {Listen: []string{":80"}, Routes: []Route{{Handle: handlers}}},
		}}},
	}
}

// withResponseHeader is a config whose route answers with header X-Tenant: value, a string a
// route author controls.
func withResponseHeader(value string) *Config {
	return configWithHandlers(StaticResponse{Headers: map[string][]string{"X-Tenant": {value}}, Body: "hello"})
}

func TestFinalize(t *testing.T) {
	tests := []struct {
		name   string
		config func() *Config
		// tenant is the X-Tenant header value that must come out of Finalize intact; "" when
		// the config has none.
		tenant string
	}{
		{name: "plain", config: func() *Config { return configWithHandlers(StaticResponse{Body: "hello"}) }},
		{name: "header value of 64 zeros", config: func() *Config { return withResponseHeader(versionZeros) }, tenant: versionZeros},
		{name: "header value is the versioned start", config: func() *Config { return withResponseHeader(versionedStart) }, tenant: versionedStart},
		{
			name:   "header value is a whole zero stamp",
			config: func() *Config { return withResponseHeader(versionedStart + versionZeros + `"`) },
			tenant: versionedStart + versionZeros + `"`,
		},
		{
			name:   "header value is the admin ID",
			config: func() *Config { return withResponseHeader(VersionAdminID(versionZeros)) },
			tenant: VersionAdminID(versionZeros),
		},
		{
			name: "admin block with an ID of its own",
			config: func() *Config {
				c := configWithHandlers(StaticResponse{Body: "hello"})
				c.Admin.ID = "mine"
				return c
			},
		},
		{
			name: "admin block with nothing else",
			config: func() *Config {
				return &Config{Admin: &Admin{}}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.config()
			before, err := c.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			adminBefore := c.Admin
			data, version, err := Finalize(c)
			if err != nil {
				t.Fatalf("Finalize: %v", err)
			}

			// The version is the hash of the config with a zero-stamped admin ID, encoded
			// independently of Finalize.
			zeroStamped := tt.config()
			zeroStamped.Admin.ID = VersionAdminID(versionZeros)
			want, err := zeroStamped.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(want)
			if wantVersion := hex.EncodeToString(sum[:]); version != wantVersion {
				t.Errorf("version = %s, want the sha256 of the zero-stamped bytes %s", version, wantVersion)
			}
			copy(want[len(versionedStart):], version)
			if diff := cmp.Diff(string(want), string(data)); diff != "" {
				t.Errorf("Finalize bytes (-want +got):\n%s", diff)
			}
			if !bytes.HasPrefix(data, []byte(`{"admin":{"@id":"`+VersionAdminID(version)+`"`)) {
				t.Errorf("Finalize = %.120s..., want it to start with the versioned admin ID", data)
			}

			// Route strings survive untouched.
			if tt.tenant != "" {
				if got := decodedTenantHeader(t, data); got != tt.tenant {
					t.Errorf("X-Tenant = %q after Finalize, want %q", got, tt.tenant)
				}
			}

			// The caller's config and admin block are unchanged.
			after, err := c.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if c.Admin != adminBefore || !bytes.Equal(before, after) {
				t.Errorf("Finalize changed its input: %s, was %s", after, before)
			}
		})
	}
}

// decodedTenantHeader returns the X-Tenant value of withResponseHeader's route in data.
func decodedTenantHeader(t *testing.T, data []byte) string {
	t.Helper()
	var doc struct {
		Apps struct {
			HTTP struct {
				Servers map[string]struct {
					Routes []struct {
						Handle []struct {
							Headers map[string][]string `json:"headers"`
						} `json:"handle"`
					} `json:"routes"`
				} `json:"servers"`
			} `json:"http"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("finalized config is not JSON: %v", err)
	}
	return doc.Apps.HTTP.Servers["s"].Routes[0].Handle[0].Headers["X-Tenant"][0]
}

func TestFinalizeIsDeterministic(t *testing.T) {
	data, version, err := Finalize(withResponseHeader("a"))
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		again, againVersion, err := Finalize(withResponseHeader("a"))
		if err != nil || againVersion != version || !bytes.Equal(again, data) {
			t.Fatalf("Finalize is not deterministic: %s %s %v", againVersion, again, err)
		}
	}
	_, otherVersion, err := Finalize(withResponseHeader("b"))
	if err != nil || otherVersion == version {
		t.Errorf("different configs got the same version %s (err %v)", otherVersion, err)
	}
	if !isVersion(version) {
		t.Errorf("version %q is not 64 lowercase hex digits", version)
	}
}

func TestFinalizeErrors(t *testing.T) {
	tests := []struct {
		name    string
		config  *Config
		wantErr string
	}{
		{"nil config", nil, "no config"},
		{"no admin block", &Config{Apps: Apps{HTTP: &HTTPApp{}}}, "no admin block"},
		{"unencodable", &Config{Admin: &Admin{}, Logging: json.RawMessage(`{`)}, "encoding config"},
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

func TestIsVersion(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{versionZeros, true},
		{strings.Repeat("af09", 16), true},
		{strings.Repeat("A", 64), false},
		{strings.Repeat("0", 63), false},
		{strings.Repeat("0", 65), false},
		{strings.Repeat("0", 62) + "/x", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := isVersion(tt.in); got != tt.want {
			t.Errorf("isVersion(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
