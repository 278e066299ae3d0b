package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestStandaloneConfigBindsEveryServerToTheProcessAddress renders the bench Gateway and
// checks what the standalone figures rely on: every route is accepted, every server and the
// admin endpoint listen on {env.KENGINE_BENCH_HOST} (so one config serves every fan-out
// process on its own address), and hostnames are defined in route order.
func TestStandaloneConfigBindsEveryServerToTheProcessAddress(t *testing.T) {
	sr := standaloneRender{adminPort: 20001, healthPort: 20010}
	s := benchSnapshot(snapshotOptions{routes: 25, backendPort: 20100})
	s.Gateway.Spec.Listeners[0].Port = gatewayPort(20200)
	data, version, err := sr.config(s)
	if err != nil {
		t.Fatal(err)
	}
	if version == "" {
		t.Error("no version")
	}
	var cfg struct {
		Admin struct {
			Listen string `json:"listen"`
		} `json:"admin"`
		Apps struct {
			HTTP struct {
				Servers map[string]struct {
					Listen []string `json:"listen"`
				} `json:"servers"`
			} `json:"http"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Admin.Listen != "{env.KENGINE_BENCH_HOST}:20001" {
		t.Errorf("admin listens on %q", cfg.Admin.Listen)
	}
	if len(cfg.Apps.HTTP.Servers) < 2 {
		t.Fatalf("%d servers, want the Gateway's and the health servers", len(cfg.Apps.HTTP.Servers))
	}
	sawListener := false
	for name, srv := range cfg.Apps.HTTP.Servers {
		for _, addr := range srv.Listen {
			if !strings.HasPrefix(addr, "{env.KENGINE_BENCH_HOST}:") {
				t.Errorf("server %s listens on %q", name, addr)
			}
			sawListener = sawListener || addr == "{env.KENGINE_BENCH_HOST}:20200"
		}
	}
	if !sawListener {
		t.Error("no server listens on the Gateway listener's port 20200")
	}
	for i := range 25 {
		if !bytes.Contains(data, []byte(`"`+routeHost(benchPrefix, i)+`"`)) {
			t.Errorf("route %d's hostname is not in the config", i)
		}
	}
	if bytes.Index(data, []byte(routeHost(benchPrefix, 0))) > bytes.Index(data, []byte(routeHost(benchPrefix, 24))) {
		t.Error("the first route's hostname is defined after the last one's")
	}
	if !bytes.Contains(data, []byte("127.0.0.1:20100")) {
		t.Error("no upstream dials the backend 127.0.0.1:20100")
	}
}

func TestServicesForRoundsUp(t *testing.T) {
	for _, tt := range []struct{ routes, want int }{{1, 1}, {10, 1}, {11, 2}, {1000, 100}, {5030, 503}} {
		if got := servicesFor(tt.routes); got != tt.want {
			t.Errorf("servicesFor(%d) = %d, want %d", tt.routes, got, tt.want)
		}
	}
	if serviceName(0) != "svc-0000" || serviceName(19) != "svc-0001" {
		t.Errorf("serviceName: %s, %s", serviceName(0), serviceName(19))
	}
}
