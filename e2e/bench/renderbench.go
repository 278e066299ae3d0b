package main

import (
	"fmt"
	"slices"
	"testing"
)

// renderRaw is the render figure's raw numbers: translate, render and finalize (encode and
// stamp the version) of the bench Gateway, as one sync does.
type renderRaw struct {
	Routes          int       `json:"routes"`
	ConfigBytes     int       `json:"config_bytes"`
	MillisPerOp     float64   `json:"ms_per_render"`
	RunsMillis      []float64 `json:"runs_ms_per_render"`
	BytesPerOp      int64     `json:"allocated_bytes_per_render"`
	AllocsPerOp     int64     `json:"allocs_per_render"`
	Iterations      int       `json:"iterations"`
	OneRouteChange  string    `json:"one_route_change"`
	MicroBenchmarks string    `json:"micro_benchmarks"`
}

// measureRender runs the full render of n routes as a Go benchmark, runs times, and reports
// the median run.
func measureRender(st *standalone, n, runs int) (renderRaw, error) {
	raw := renderRaw{
		Routes: n,
		// The controller has no incremental path yet: every change, one route or many,
		// re-translates and re-renders the whole Gateway.
		OneRouteChange:  "same as a full render: the controller re-renders the whole Gateway on every change",
		MicroBenchmarks: "make bench-render (controller and controller/render packages)",
	}
	data, _, err := st.snapshotConfig(n, 1)
	if err != nil {
		return raw, err
	}
	raw.ConfigBytes = len(data)
	s := benchSnapshot(snapshotOptions{routes: n, backendPort: 1})
	s.Gateway.Spec.Listeners[0].Port = gatewayPort(st.listenerPort)
	var results []testing.BenchmarkResult
	var benchErr error
	for range runs {
		res := testing.Benchmark(func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := st.sr.config(s); err != nil {
					benchErr = err
					b.SkipNow()
				}
			}
		})
		if benchErr != nil {
			return raw, benchErr
		}
		results = append(results, res)
		raw.RunsMillis = append(raw.RunsMillis, float64(res.NsPerOp())/1e6)
	}
	slices.SortFunc(results, func(a, b testing.BenchmarkResult) int { return int(a.NsPerOp() - b.NsPerOp()) })
	median := results[len(results)/2]
	raw.MillisPerOp = float64(median.NsPerOp()) / 1e6
	raw.BytesPerOp = median.AllocedBytesPerOp()
	raw.AllocsPerOp = median.AllocsPerOp()
	raw.Iterations = median.N
	fmt.Printf("  render of %d routes: %.1f ms, %.1f MB and %d allocations per render\n", n, raw.MillisPerOp, float64(raw.BytesPerOp)/1e6, raw.AllocsPerOp)
	return raw, nil
}
