package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

const exposition = `# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 4.5678592e+07
go_memstats_heap_inuse_bytes 1.2e+07

kengine_gateway_pushes_total{gateway="burst",namespace="kengine-bench-1",pod="burst-kengine-0",result="ok"} 7
kengine_gateway_pushes_total{gateway="burst",namespace="kengine-bench-1",pod="burst-kengine-1",result="ok"} 5 1700000000000
kengine_gateway_pushes_total{gateway="burst",namespace="kengine-bench-1",pod="burst-kengine-0",result="unchanged"} 3
kengine_gateway_pushes_total{gateway="bench",namespace="kengine-bench-1",pod="bench-kengine-0",result="ok"} 100
odd_label{msg="a \"quoted\", {braced} value\\n"} 1
`

func TestParseMetrics(t *testing.T) {
	samples, err := parseMetrics(exposition)
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 7 {
		t.Fatalf("%d samples, want 7: %+v", len(samples), samples)
	}
	want := metricSample{Name: "odd_label", Labels: map[string]string{"msg": `a "quoted", {braced} value\n`}, Value: 1}
	if diff := cmp.Diff(want, samples[6]); diff != "" {
		t.Errorf("escaped label (-want +got):\n%s", diff)
	}
	tests := []struct {
		name  string
		match map[string]string
		want  float64
		found bool
	}{
		{"process_resident_memory_bytes", nil, 45678592, true},
		{"go_memstats_heap_inuse_bytes", nil, 12e6, true},
		{"kengine_gateway_pushes_total", map[string]string{"gateway": "burst", "result": "ok"}, 12, true},
		{"kengine_gateway_pushes_total", map[string]string{"gateway": "burst"}, 15, true},
		{"kengine_gateway_pushes_total", map[string]string{"gateway": "other"}, 0, false},
		{"absent", nil, 0, false},
	}
	for _, tt := range tests {
		got, found := sumMetric(samples, tt.name, tt.match)
		if got != tt.want || found != tt.found {
			t.Errorf("sumMetric(%s, %v) = %v, %v; want %v, %v", tt.name, tt.match, got, found, tt.want, tt.found)
		}
	}
}

func TestParseMetricsRejectsGarbage(t *testing.T) {
	for _, text := range []string{"name_without_value\n", `m{a="unterminated} 1` + "\n", "m{a=1} 1\n", "m notanumber\n"} {
		if _, err := parseMetrics(text); err == nil {
			t.Errorf("parseMetrics(%q) succeeded, want an error", text)
		}
	}
}
