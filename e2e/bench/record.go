package main

import (
	"fmt"
	"math"
	"os"
	"slices"
)

// Goals of issue #14.
const (
	goalRenderMillis      = 20
	goalRenderBytes       = 10e6
	goalFanoutRatio       = 1.5
	goalDataPlaneRatio    = 0.95
	goalLastMinusFirstMs  = 0.3
	goalPropagationRatio  = 1.2
	goalPropagationP99Ms  = 250
	goalPropagationP99At  = 1000
	goalBurstLoads        = 3
	goalBurstExtraMs      = 1000
	goalMemoryRSSMiB      = 100
	goalMemoryRSSAtRoutes = 5000
)

// recordRender compares the render with the /load floor of the same config.
func recordRender(f *Figure, raw renderRaw, floor loadFloor) {
	var ref *Reference
	var r float64
	if s, ok := floor[raw.Routes]; ok {
		ref = &Reference{What: fmt.Sprintf("/load p50 of the same %d-route config", raw.Routes), Value: s.P50, Unit: "ms"}
		r = ratio(raw.MillisPerOp, s.P50)
	}
	met := raw.MillisPerOp <= goalRenderMillis && float64(raw.BytesPerOp) <= goalRenderBytes
	f.measured(fmt.Sprintf("%d routes: %.1f ms, %.1f MB/render", raw.Routes, raw.MillisPerOp, float64(raw.BytesPerOp)/1e6), raw, ref, r, boolPtr(met))
	f.Notes = append(f.Notes, fmt.Sprintf("against the goal: %.2f × 20 ms, %.2f × 10 MB", raw.MillisPerOp/goalRenderMillis, float64(raw.BytesPerOp)/goalRenderBytes))
}

// recordFanout compares the largest pod count's p50 with the smallest's.
func recordFanout(f *Figure, raw fanoutRaw) {
	if len(raw.Points) == 0 {
		return
	}
	one, most := raw.Points[0], raw.Points[len(raw.Points)-1]
	r := ratio(most.Push.P50, one.Push.P50)
	f.measured(fmt.Sprintf("p50 %.1f ms at %d pods", most.Push.P50, most.Pods),
		raw, &Reference{What: fmt.Sprintf("p50 at %d pod", one.Pods), Value: one.Push.P50, Unit: "ms"}, r, boolPtr(r <= goalFanoutRatio))
	cpus := describeMachine("").CPUs
	f.Notes = append(f.Notes, fmt.Sprintf("every pod is a Kengine process on this machine's %d CPUs, so the time to load %d configs at once is CPU time shared by all of them; the controller pushes to at most %d pods at once",
		cpus, most.Pods, raw.Concurrency))
	// If loading were all CPU and perfectly spread over the CPUs, n pods could not take less
	// than n loads divided by the CPUs: how far the push is from that says what the fan-out
	// itself costs here.
	if cpuFloor := float64(most.Pods) * one.Push.P50 / float64(max(cpus, 1)); cpuFloor > 0 {
		f.Notes = append(f.Notes, fmt.Sprintf("CPU-bound floor at %d pods (%d × p50 at %d pod / %d CPUs): %.0f ms; p50 is %.2f × that",
			most.Pods, most.Pods, one.Pods, cpus, cpuFloor, most.Push.P50/cpuFloor))
	}
}

// recordDataPlane compares the rendered config's throughput with the hand-written one's.
func recordDataPlane(f *Figure, raw dataPlaneRaw) {
	r := ratio(raw.Rendered.RequestsPerSecond, raw.HandWritten.RequestsPerSecond)
	met := r >= goalDataPlaneRatio && raw.LastMinusFirst <= goalLastMinusFirstMs
	f.measured(fmt.Sprintf("%.0f req/s (p99 %.2f ms); last-first p50 %+.3f ms", raw.Rendered.RequestsPerSecond, raw.Rendered.Latency.P99, raw.LastMinusFirst),
		raw, &Reference{What: "hand-written one-route config", Value: math.Round(raw.HandWritten.RequestsPerSecond), Unit: "req/s"}, r, boolPtr(met))
	f.Notes = append(f.Notes, "the load generator, the backend and Kengine share this machine's CPUs")
}

// propagationPoint is the propagation at one route count.
type propagationPoint struct {
	Routes      int     `json:"routes"`
	Propagation Summary `json:"propagation"`
	APIWrite    Summary `json:"api_write"`
	LoadFloor   Summary `json:"load_floor"`
	Ratio       float64 `json:"p50_over_floor_p50"`
}

// recordPropagation takes the largest route count's p50 ratio as the headline; the goal also
// bounds p99 at 1,000 routes.
func recordPropagation(f *Figure, points []propagationPoint) {
	if len(points) == 0 {
		return
	}
	met := true
	worst := points[0]
	for _, p := range points {
		met = met && p.Ratio <= goalPropagationRatio
		if p.Routes == goalPropagationP99At {
			met = met && p.Propagation.P99 <= goalPropagationP99Ms
		}
		if p.Ratio > worst.Ratio {
			worst = p
		}
	}
	last := points[len(points)-1]
	f.measured(fmt.Sprintf("p50 %.0f ms, p99 %.0f ms at %d routes", last.Propagation.P50, last.Propagation.P99, last.Routes),
		points, &Reference{What: fmt.Sprintf("/load p50 of the same %d-route config", last.Routes), Value: last.LoadFloor.P50, Unit: "ms"},
		last.Ratio, boolPtr(met))
	if worst.Routes != last.Routes {
		f.Notes = append(f.Notes, fmt.Sprintf("highest ratio: %.2f at %d routes", worst.Ratio, worst.Routes))
	}
}

// burstRaw is the burst figure's raw numbers.
type burstRaw struct {
	Routes           int     `json:"routes"`
	CreateMillis     float64 `json:"create_all_ms"`
	ServedAfterFirst float64 `json:"all_served_after_first_write_ms"`
	ServedAfterLast  float64 `json:"all_served_after_last_write_ms"`
	Pushes           float64 `json:"pushes_ok"`
	PushesUnchanged  float64 `json:"pushes_unchanged"`
	FloorP50         float64 `json:"load_floor_p50_ms"`
	Budget           float64 `json:"budget_ms"`
}

func recordBurst(f *Figure, raw burstRaw) {
	r := ratio(raw.ServedAfterLast, raw.Budget)
	f.measured(fmt.Sprintf("%d routes served %.0f ms after the last write (%.0f ms after the first), %.0f pushes", raw.Routes, raw.ServedAfterLast, raw.ServedAfterFirst, raw.Pushes),
		raw, &Reference{What: fmt.Sprintf("3 × /load p50 of the %d-route config + 1 s", raw.Routes), Value: raw.Budget, Unit: "ms"}, r, boolPtr(r <= 1))
	f.Notes = append(f.Notes, "the time is counted from the last API write returning; creating the routes takes create_all_ms on its own")
}

// memoryPoint is the controller's memory at one route count.
type memoryPoint struct {
	Routes      int     `json:"routes"`
	RSSMiB      float64 `json:"rss_mib"`
	HeapInUseMi float64 `json:"heap_inuse_mib"`
}

// memoryRaw is the memory figure's raw numbers.
type memoryRaw struct {
	Source   string        `json:"source"`
	Baseline memoryPoint   `json:"baseline"`
	Points   []memoryPoint `json:"points"`
}

func recordMemory(f *Figure, raw memoryRaw) {
	if len(raw.Points) == 0 {
		return
	}
	last := raw.Points[len(raw.Points)-1]
	met := true
	for _, p := range raw.Points {
		if p.Routes == goalMemoryRSSAtRoutes {
			met = p.RSSMiB <= goalMemoryRSSMiB
		}
	}
	f.measured(fmt.Sprintf("%.0f MiB RSS, %.0f MiB heap at %d routes", last.RSSMiB, last.HeapInUseMi, last.Routes),
		raw, &Reference{What: "RSS before the bench's objects existed", Value: raw.Baseline.RSSMiB, Unit: "MiB"},
		ratio(last.RSSMiB, raw.Baseline.RSSMiB), boolPtr(met))
}

// writePropagationSVG plots propagation p50/p99 and the /load floor against route count.
// Whatever was not measured is left out of the plot, never drawn as zero.
func writePropagationSVG(path string, res *Results) error {
	byRoutes := map[int][3]float64{}
	set := func(n, i int, v float64) {
		cur, ok := byRoutes[n]
		if !ok {
			cur = [3]float64{math.NaN(), math.NaN(), math.NaN()}
		}
		cur[i] = v
		byRoutes[n] = cur
	}
	if points, ok := res.Propagation.Raw.([]propagationPoint); ok {
		for _, p := range points {
			set(p.Routes, 0, p.Propagation.P50)
			set(p.Routes, 1, p.Propagation.P99)
		}
	}
	if points, ok := res.LoadFloor.Raw.([]loadFloorPoint); ok {
		for _, p := range points {
			set(p.Routes, 2, p.Load.P50)
		}
	}
	plot := propagationPlot{
		Title: fmt.Sprintf("New HTTPRoute to first 200 vs Kengine's own /load (%d CPUs, %.12s)", res.Machine.CPUs, res.Commit),
	}
	for n := range byRoutes {
		plot.Routes = append(plot.Routes, n)
	}
	slices.Sort(plot.Routes)
	series := []plotSeries{
		{Name: "propagation p50", Color: "#1f77b4"},
		{Name: "propagation p99", Color: "#1f77b4", Dashed: true},
		{Name: "/load floor p50", Color: "#7f7f7f"},
	}
	for _, n := range plot.Routes {
		for i := range series {
			series[i].Values = append(series[i].Values, byRoutes[n][i])
		}
	}
	plot.Series = series
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := plot.writeSVG(out); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}
