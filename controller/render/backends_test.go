package render

import (
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/khulnasoft/gateway/controller/ir"
)

// testCAPEM is a throwaway self-signed CA certificate (CN=render-test-ca), for tests only.
const testCAPEM = `
-----BEGIN CERTIFICATE-----
MIIBijCCAS+gAwIBAgIUFBI+9E0KsdCQZeFM9T0nOZhqL/8wCgYIKoZIzj0EAwIw
GTEXMBUGA1UEAwwOcmVuZGVyLXRlc3QtY2EwIBcNMjYxMjAyMDQxODA1WhgPMjEy
NjExMDgwNDE4MDVaMBkxFzAVBgNVBAMMDnJlbmRlci10ZXN0LWNhMFkwEwYHKoZI
zj0CAQYIKoZIzj0DAQcDQgAETV30mEoAxLDGsIR3G/94x0+MWrPuE8pyS3Kmkd7e
ft5LvGW9HuHG7tqSPCipshG7xminLc95Yh3QHF+leiXgiKNTMFEwHQYDVR0OBBYE
FM5zh0GbDYjjBBqOscqaYBKBILOTMB8GA1UdIwQYMBaAFM5zh0GbDYjjBBqOscqa
YBKBILOTMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSQAwRgIhAOcNRuFQ
XngmwZv+Alc5MMZH4UWw897HWUjMRGU4ro/DAiEAw2D/WnCzkNBHeezwwkQXCXgp
HKNVqhw9hrtX+XSNEpI=
-----END CERTIFICATE-----
`

// testCADER is testCAPEM as the inline CA pool carries it.
func testCADER(t *testing.T) string {
	t.Helper()
	block, _ := pem.Decode([]byte(testCAPEM))
	if block == nil {
		t.Fatal("testCAPEM holds no PEM block")
	}
	return base64.StdEncoding.EncodeToString(block.Bytes)
}

func TestSplitWeights(t *testing.T) {
	tests := []struct {
		name        string
		dials       [][]string
		shares      []int
		wantAddrs   []string
		wantWeights []int
	}{
		{
			name:        "one endpoint each keeps the shares",
			dials:       [][]string{{"a"}, {"b"}},
			shares:      []int{3, 1},
			wantAddrs:   []string{"a", "b"},
			wantWeights: []int{3, 1},
		},
		{
			name:        "exact split over endpoints",
			dials:       [][]string{{"a1", "a2", "a3"}, {"b1", "b2"}},
			shares:      []int{1, 1},
			wantAddrs:   []string{"a1", "a2", "a3", "b1", "b2"},
			wantWeights: []int{2, 2, 2, 3, 3}, // scale 6: each group totals 6
		},
		{
			name:        "common divisor is reduced",
			dials:       [][]string{{"a"}, {"b"}},
			shares:      []int{40, 60},
			wantAddrs:   []string{"a", "b"},
			wantWeights: []int{2, 3},
		},
		{
			name:        "reduction after an exact split",
			dials:       [][]string{{"a1", "a2"}, {"b1", "b2"}},
			shares:      []int{2, 2},
			wantAddrs:   []string{"a1", "a2", "b1", "b2"},
			wantWeights: []int{1, 1, 1, 1},
		},
		{
			name:        "an empty group contributes nothing",
			dials:       [][]string{{"a"}, nil},
			shares:      []int{5, 7},
			wantAddrs:   []string{"a"},
			wantWeights: []int{1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addrs, weights := splitWeights(tt.dials, tt.shares)
			if diff := cmp.Diff(tt.wantAddrs, addrs); diff != "" {
				t.Errorf("addresses (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantWeights, weights); diff != "" {
				t.Errorf("weights (-want +got):\n%s", diff)
			}
		})
	}
}

// Beyond maxExactScale the split is rounded, never to zero, and stays within a tenth of a
// percent of the exact shares.
func TestSplitWeightsRoundsBeyondTheScale(t *testing.T) {
	group := func(prefix string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = prefix + string(rune('a'+i%26)) + strings.Repeat("x", i/26)
		}
		return out
	}
	// lcm(7, 11, 13, 17) = 17017 > 1000.
	dials := [][]string{group("p", 7), group("q", 11), group("r", 13), group("s", 17)}
	shares := []int{1, 2, 3, 1000}
	addrs, weights := splitWeights(dials, shares)
	if len(addrs) != 48 || len(weights) != 48 {
		t.Fatalf("%d addresses and %d weights, want 48", len(addrs), len(weights))
	}
	total, sum := 0, 0
	for _, s := range shares {
		total += s
	}
	for _, w := range weights {
		if w <= 0 {
			t.Fatalf("weight %d: every endpoint must keep a positive weight", w)
		}
		sum += w
	}
	i := 0
	for g, d := range dials {
		groupSum := 0
		for range d {
			groupSum += weights[i]
			i++
		}
		got, want := float64(groupSum)/float64(sum), float64(shares[g])/float64(total)
		if diff := got - want; diff > 0.001 || diff < -0.001 {
			t.Errorf("group %d gets %.5f of the traffic, want %.5f", g, got, want)
		}
	}
}

func TestBackendHandler(t *testing.T) {
	ca := testCADER(t)
	tests := []struct {
		name     string
		backends []ir.Backend
		want     string
	}{
		{name: "no backends answer 500", want: `{"handler":"static_response","status_code":500}`},
		{
			name:     "only one failure status is answered directly",
			backends: []ir.Backend{{Weight: 1, Failure: 503}, {Weight: 4, Failure: 503}},
			want:     `{"handler":"static_response","status_code":503}`,
		},
		{
			name:     "two failure statuses keep their shares",
			backends: []ir.Backend{{Weight: 1, Failure: 503}, {Weight: 3, Failure: 500}},
			want: `{"handler":"reverse_proxy","load_balancing":{"selection_policy":{"policy":"weighted_round_robin","weights":[3,1]}},` +
				`"upstreams":[{"dial":"127.0.0.1:19081"},{"dial":"127.0.0.1:19082"}]}`,
		},
		{
			name:     "one endpoint needs no load balancing",
			backends: []ir.Backend{{Name: "ns/web:80", Weight: 1, Endpoints: []string{"10.0.0.1:8080"}}},
			want:     `{"handler":"reverse_proxy","upstreams":[{"dial":"10.0.0.1:8080"}]}`,
		},
		{
			name: "mixed: endpoints split and a failing share",
			backends: []ir.Backend{
				{Name: "ns/web:80", Weight: 3, Endpoints: []string{"10.0.0.1:8080", "10.0.0.2:8080"}},
				{Name: "ns/gone:80", Weight: 1, Failure: 500},
			},
			want: `{"handler":"reverse_proxy","load_balancing":{"selection_policy":{"policy":"weighted_round_robin","weights":[3,3,2]}},` +
				`"upstreams":[{"dial":"10.0.0.1:8080"},{"dial":"10.0.0.2:8080"},{"dial":"127.0.0.1:19081"}]}`,
		},
		{
			name:     "h2c",
			backends: []ir.Backend{{Weight: 1, Endpoints: []string{"10.0.0.1:50051"}, Protocol: ir.H2C}},
			want:     `{"handler":"reverse_proxy","transport":{"protocol":"http","versions":["h2c"]},"upstreams":[{"dial":"10.0.0.1:50051"}]}`,
		},
		{
			name:     "TLS with the system's authorities",
			backends: []ir.Backend{{Weight: 1, Endpoints: []string{"10.0.0.1:443"}, TLS: &ir.BackendTLS{ServerName: "web.example.com"}}},
			// Kengine's TLS transport would send the upstream's address as Host; the request's
			// own Host is kept.
			want: `{"handler":"reverse_proxy","transport":{"protocol":"http","tls":{"server_name":"web.example.com"}},"upstreams":[{"dial":"10.0.0.1:443"}],` +
				`"headers":{"request":{"set":{"Host":["{http.request.hostport}"]}}}}`,
		},
		{
			name: "TLS with inline authorities, and a failing share reached without TLS",
			backends: []ir.Backend{
				{Weight: 1, Endpoints: []string{"10.0.0.1:443"}, TLS: &ir.BackendTLS{ServerName: "web.example.com", CACertificates: []string{testCAPEM}}},
				{Weight: 1, Failure: 503},
			},
			want: `{"handler":"reverse_proxy","transport":{"protocol":"http","tls":{"ca":{"provider":"inline","trusted_ca_certs":["` + ca + `"]},` +
				`"server_name":"web.example.com","except_ports":["19082"]}},` +
				`"load_balancing":{"selection_policy":{"policy":"weighted_round_robin","weights":[1,1]}},"upstreams":[{"dial":"10.0.0.1:443"},{"dial":"127.0.0.1:19082"}],` +
				`"headers":{"request":{"set":{"Host":["{http.request.hostport}"]}}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &renderer{opts: testOptions()}
			h, err := r.backendHandler(tt.backends, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := jsonOf(t, h); got != tt.want {
				t.Errorf("handler:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// A failure server exists only when some share goes to it.
func TestBackendHandlerMarksTheFailureServersItUses(t *testing.T) {
	r := &renderer{opts: testOptions()}
	if _, err := r.backendHandler([]ir.Backend{{Weight: 1, Failure: 503}}, nil); err != nil {
		t.Fatal(err)
	}
	if len(r.failurePorts) != 0 {
		t.Errorf("a status answered directly needs no failure server, got %v", r.failurePorts)
	}
	if _, err := r.backendHandler([]ir.Backend{{Weight: 1, Endpoints: []string{"10.0.0.1:80"}}, {Weight: 1, Failure: 503}}, nil); err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(r.failurePorts, map[int]bool{503: true}) {
		t.Errorf("failure servers = %v, want 503 only", r.failurePorts)
	}
}

func TestBackendHandlerRefuses(t *testing.T) {
	tls := func(mod func(*ir.BackendTLS)) *ir.BackendTLS {
		t := &ir.BackendTLS{ServerName: "web.example.com"}
		mod(t)
		return t
	}
	tests := []struct {
		name     string
		backends []ir.Backend
		want     string
	}{
		{
			name:     "protocols differ",
			backends: []ir.Backend{{Name: "a", Weight: 1, Endpoints: []string{"x:1"}}, {Name: "b", Weight: 1, Endpoints: []string{"y:1"}, Protocol: ir.H2C}},
			want:     "one reverse proxy has one transport",
		},
		{
			name: "TLS differs",
			backends: []ir.Backend{
				{Name: "a", Weight: 1, Endpoints: []string{"x:1"}, TLS: tls(func(*ir.BackendTLS) {})},
				{Name: "b", Weight: 1, Endpoints: []string{"y:1"}, TLS: tls(func(t *ir.BackendTLS) { t.ServerName = "other.example.com" })},
			},
			want: "one reverse proxy has one transport",
		},
		{
			name:     "subjectAltNames",
			backends: []ir.Backend{{Weight: 1, Endpoints: []string{"x:1"}, TLS: tls(func(t *ir.BackendTLS) { t.SubjectAltNames = []string{"a.example.com"} })}},
			want:     "subjectAltNames",
		},
		{
			name:     "client certificate",
			backends: []ir.Backend{{Weight: 1, Endpoints: []string{"x:1"}, TLS: tls(func(t *ir.BackendTLS) { t.ClientCertificateTag = "ns/client" })}},
			want:     "client certificate",
		},
		{
			name:     "no server name",
			backends: []ir.Backend{{Weight: 1, Endpoints: []string{"x:1"}, TLS: tls(func(t *ir.BackendTLS) { t.ServerName = "" })}},
			want:     "no server name",
		},
		{
			name:     "CA that is not PEM",
			backends: []ir.Backend{{Weight: 1, Endpoints: []string{"x:1"}, TLS: tls(func(t *ir.BackendTLS) { t.CACertificates = []string{"not pem"} })}},
			want:     "not a sequence of PEM certificates",
		},
		{
			name:     "h2c over TLS",
			backends: []ir.Backend{{Weight: 1, Endpoints: []string{"x:1"}, Protocol: ir.H2C, TLS: tls(func(*ir.BackendTLS) {})}},
			want:     "h2c",
		},
		{
			name:     "unknown protocol",
			backends: []ir.Backend{{Weight: 1, Endpoints: []string{"x:1"}, Protocol: "h3"}},
			want:     "unknown backend protocol",
		},
		{
			name:     "failure status without a failure server",
			backends: []ir.Backend{{Weight: 1, Failure: 502}},
			want:     "no failure server",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &renderer{opts: testOptions()}
			_, err := r.backendHandler(tt.backends, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestInlineCAPool(t *testing.T) {
	pool, err := inlineCAPool([]string{testCAPEM + testCAPEM, testCAPEM})
	if err != nil {
		t.Fatal(err)
	}
	if len(pool.TrustedCACerts) != 3 || pool.TrustedCACerts[0] != testCADER(t) {
		t.Errorf("pool = %v, want the test CA three times", pool.TrustedCACerts)
	}
	key := "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
	for name, pems := range map[string][]string{
		"none":           nil,
		"empty":          {""},
		"a key":          {key},
		"trailing junk":  {testCAPEM + "junk"},
		"not a cert DER": {"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"},
	} {
		if _, err := inlineCAPool(pems); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}
