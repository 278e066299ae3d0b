package kengine

import "testing"

func TestRefusesUnknownApp(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		want bool
	}{
		{"loading new config: loading layer4 app module: unknown module: layer4", true},
		{"loading new config: loading http app module: provision http: unknown module: layer4", false},
		{"loading new config: loading pki app module: unknown module: pki", false},
		{"loading config: loading new config: loading http app module: provision http: loading listener wrapper modules: " +
			"position 0: loading module 'layer4': unknown module: caddy.listeners.layer4", true},
		{"", false},
	} {
		if got := RefusesUnknownApp(tc.msg, AppLayer4); got != tc.want {
			t.Errorf("RefusesUnknownApp(%q) = %v, want %v", tc.msg, got, tc.want)
		}
	}
}
