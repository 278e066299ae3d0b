package kengine

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestEncoderMatchesReflection holds the hand-written encoder to encoding/json's bytes, on the
// golden config and on the values where the two could part: nil and empty lists and maps,
// strings that need escaping, handlers behind pointers, and types the encoder leaves to
// encoding/json.
func TestEncoderMatchesReflection(t *testing.T) {
	yes := true
	odd := []string{"", "plain", `quote " and \ backslash`, "<html>&", "tab\tnew\nline\r", "\x00\x1f\x7f", "café ünïcode", "\u2028\u2029", "bad \xff utf-8", "{http.request.host}"}
	var nilSubroute *Subroute
	var nilProxy *ReverseProxy
	var routes []Route
	for _, s := range odd {
		routes = append(routes, Route{
			ID: s, Group: s,
			Match: []MatcherSet{{
				Host: []string{s}, Path: []string{s, s}, PathRegexp: &RegexpMatcher{Name: s, Pattern: s},
				Method: []string{s}, Header: map[string][]string{s: {s}, s + "nil": nil, s + "empty": {}},
				HeaderRegexp: map[string]*RegexpMatcher{s: {Pattern: s}, s + "nil": nil},
				Query:        map[string][]string{s: {s}}, Protocol: s, RemoteIP: &IPRanges{Ranges: []string{s}},
				ClientIP: &IPRanges{}, VarsRegexp: map[string]*RegexpMatcher{s: {Name: s, Pattern: s}},
				Expression: s, Not: []MatcherSet{{Path: []string{s}}, {}},
			}},
			Handle: []Handler{
				StaticResponse{ID: s, StatusCode: WeakString(s), Headers: map[string][]string{s: {s}}, Body: s, Close: true, Abort: true},
				&StaticResponse{StatusCode: "+404"},
				Headers{Request: &HeaderOps{Set: map[string][]string{s: {s}}}},
				Rewrite{URI: s},
			},
			Terminal: s != "",
		})
	}
	cases := map[string]*Config{
		"golden": goldenConfig(t),
		"nil":    nil,
		"empty":  {},
		"odd": {Apps: Apps{HTTP: &HTTPApp{HTTPPort: 1, HTTPSPort: 2, GracePeriod: 3, ShutdownDelay: -4, Servers: map[string]*Server{
			"b": {
				Listen: []string{}, ReadHeaderTimeout: 5, IdleTimeout: 6, Routes: routes,
				Errors:         &ServerErrors{Routes: []Route{{}}},
				AutomaticHTTPS: &AutomaticHTTPS{Disable: true}, StrictSNIHost: &yes, Logs: &ServerLogs{DefaultLoggerName: "x"},
				Protocols: []string{"h1"}, ListenerWrappers: []ListenerWrapper{TLSListenerWrapper{}},
				TLSConnectionPolicies: []TLSConnectionPolicy{{}},
			},
			"a":   {Routes: []Route{}, Errors: &ServerErrors{}},
			"nil": nil,
			"c": {Routes: []Route{{Handle: []Handler{
				Subroute{Routes: []Route{{Terminal: true}}, Errors: &ServerErrors{Routes: []Route{{}}}},
				&Subroute{}, nilSubroute, nilProxy, nil, RawHandler(`{"handler": "x" }`),
				ReverseProxy{
					Transport:     &HTTPTransport{Versions: []string{"h2c"}},
					LoadBalancing: &LoadBalancing{SelectionPolicy: &SelectionPolicy{Policy: "first"}, Retries: 2, TryDuration: 3, TryInterval: 4, RetryMatch: []MatcherSet{{Expression: "a"}}},
					Upstreams:     []Upstream{{Dial: "10.0.0.1:80", MaxRequests: 3}, {}},
					FlushInterval: -1, Headers: &ReverseProxyHeaders{Request: &HeaderOps{Delete: []string{"x"}}},
					Rewrite: &ProxyRewrite{URI: "/x"}, RequestBuffers: 65536,
				},
				&ReverseProxy{LoadBalancing: &LoadBalancing{SelectionPolicy: &SelectionPolicy{Policy: "weighted_round_robin", Weights: []int{3, 1}}}},
				&ReverseProxy{LoadBalancing: &LoadBalancing{}, Upstreams: []Upstream{}},
			}}}},
		}}}, Logging: json.RawMessage(` { "logs" : {} } `)},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			want, err := encodeJSON(c)
			if err != nil {
				t.Fatal(err)
			}
			got, err := marshalConfig(c, 0)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("hand-written encoding differs from encoding/json (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEncodedHandlerIsWrittenInPlace checks that a config holding encoded handlers encodes to
// the bytes of the same config with the handlers themselves, through both encoders, and that
// FinalizeSized gives Finalize's bytes whatever the estimate.
func TestEncodedHandlerIsWrittenInPlace(t *testing.T) {
	handlers := []Handler{
		Subroute{Routes: []Route{{Match: []MatcherSet{{Path: []string{"/a"}}}, Handle: []Handler{StaticResponse{StatusCode: "404"}}, Terminal: true}}},
		ReverseProxy{Upstreams: []Upstream{{Dial: "10.0.0.1:80"}}},
		Headers{Response: &RespHeaderOps{HeaderOps: &HeaderOps{Delete: []string{"Server"}}}},
	}
	config := func(hs []Handler) *Config {
		return &Config{Admin: &Admin{Listen: "localhost:2019"}, Apps: Apps{HTTP: &HTTPApp{Servers: map[string]*Server{"s": {Routes: []Route{{Handle: hs}}}}}}}
	}
	encoded := make([]Handler, len(handlers))
	for i, h := range handlers {
		eh, err := EncodeHandler(h)
		if err != nil {
			t.Fatal(err)
		}
		if eh.HandlerName() != h.HandlerName() {
			t.Errorf("HandlerName() = %q, want %q", eh.HandlerName(), h.HandlerName())
		}
		encoded[i] = eh
	}
	want, err := encodeJSON(config(handlers))
	if err != nil {
		t.Fatal(err)
	}
	for name, marshal := range map[string]func(*Config) ([]byte, error){
		"hand-written":    func(c *Config) ([]byte, error) { return marshalConfig(c, 0) },
		"encoding/json":   func(c *Config) ([]byte, error) { return encodeJSON(c) },
		"sized too small": func(c *Config) ([]byte, error) { return marshalConfig(c, 1) },
	} {
		got, err := marshal(config(encoded))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("%s: encoded handlers change the config (-want +got):\n%s", name, diff)
		}
	}
	wantData, wantVersion, err := Finalize(config(handlers))
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{-1, 0, 1, len(wantData), 10 * len(wantData)} {
		data, version, err := FinalizeSized(config(encoded), size)
		if err != nil {
			t.Fatal(err)
		}
		if string(data) != string(wantData) || version != wantVersion {
			t.Errorf("FinalizeSized(%d) differs from Finalize", size)
		}
	}
}
