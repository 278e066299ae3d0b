package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"text/tabwriter"
)

// Figure names: the keys of results.json and the values of -figures.
const (
	figLoadFloor   = "load_floor"
	figPropagation = "propagation"
	figBurst       = "burst"
	figMemory      = "controller_memory"
	figRender      = "render"
	figFanout      = "fanout"
	figDataPlane   = "data_plane"
)

// allFigures is every figure in the order the suite measures them: the standalone ones, then
// those that need the local environment.
var allFigures = []string{figLoadFloor, figRender, figFanout, figDataPlane, figBurst, figPropagation, figMemory}

// clusterFigures need the local environment (KUBECONFIG, the controller, a GatewayClass).
var clusterFigures = map[string]bool{figPropagation: true, figBurst: true, figMemory: true}

// Values of Figure.Status.
const (
	statusMeasured = "measured"
	statusNotRun   = "not_run"
	statusFailed   = "failed"
)

// Figure is one measurement: its raw numbers, the reference measured in the same run, and
// the ratio of the two, with the goal the issue sets for it.
type Figure struct {
	// Status is measured, not_run (deselected with -figures) or failed.
	Status string `json:"status"`
	// Error is why the figure failed.
	Error string `json:"error,omitempty"`
	// Goal is the target, in words.
	Goal string `json:"goal"`
	// Raw holds the figure's own numbers (a struct per figure).
	Raw any `json:"raw,omitempty"`
	// Reference is what the headline number is divided by.
	Reference *Reference `json:"reference,omitempty"`
	// Ratio is the headline number over the reference.
	Ratio *float64 `json:"ratio,omitempty"`
	// GoalMet says whether the goal was met; absent when the figure was not measured.
	GoalMet *bool `json:"goal_met,omitempty"`
	// Headline is the figure's result in one line for the table.
	Headline string `json:"headline,omitempty"`
	// Notes explain what limits the figure or how it was taken.
	Notes []string `json:"notes,omitempty"`
}

// Reference is a quantity measured in the same run that a figure is compared with.
type Reference struct {
	// What describes the reference.
	What string `json:"what"`
	// Value is its value in Unit.
	Value float64 `json:"value"`
	// Unit is ms, bytes or requests/s.
	Unit string `json:"unit"`
}

// Machine describes where the run happened.
type Machine struct {
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model,omitempty"`
	MemoryMiB int    `json:"memory_mib,omitempty"`
	GoVersion string `json:"go_version"`
	Kengine   string `json:"kengine,omitempty"`
}

// Results is results.json: one object with the machine, the commit and one key per figure.
type Results struct {
	Machine          Machine `json:"machine"`
	Commit           string  `json:"commit"`
	Started          string  `json:"started"`
	DurationSeconds  float64 `json:"duration_seconds"`
	LoadFloor        *Figure `json:"load_floor"`
	Propagation      *Figure `json:"propagation"`
	Burst            *Figure `json:"burst"`
	ControllerMemory *Figure `json:"controller_memory"`
	Render           *Figure `json:"render"`
	Fanout           *Figure `json:"fanout"`
	DataPlane        *Figure `json:"data_plane"`
}

// newResults returns results in which every figure is not_run, with its goal.
func newResults() *Results {
	notRun := func(goal string) *Figure { return &Figure{Status: statusNotRun, Goal: goal} }
	return &Results{
		LoadFloor:        notRun("reference only: Kengine's own POST /load of the rendered config, per route count"),
		Propagation:      notRun("p50 ≤ 1.2 × /load floor of the same config; p99 ≤ 250 ms at 1,000 routes"),
		Burst:            notRun("1,000 routes created at once all served within 3 × /load of the final config + 1 s; pushes bounded (reported)"),
		ControllerMemory: notRun("≤ 100 MiB RSS at 5,000 routes"),
		Render:           notRun("translate + render of 5,000 routes ≤ 20 ms and ≤ 10 MB allocated"),
		Fanout:           notRun("p50 at 50 pods ≤ 1.5 × p50 at 1 pod"),
		DataPlane:        notRun("≥ 0.95 × the requests/s of a hand-written config; last hostname within 0.3 ms p50 of the first"),
	}
}

// figure returns the entry for a figure name.
func (r *Results) figure(name string) *Figure {
	switch name {
	case figLoadFloor:
		return r.LoadFloor
	case figPropagation:
		return r.Propagation
	case figBurst:
		return r.Burst
	case figMemory:
		return r.ControllerMemory
	case figRender:
		return r.Render
	case figFanout:
		return r.Fanout
	case figDataPlane:
		return r.DataPlane
	}
	panic("unknown figure " + name)
}

// measured records a measured figure's outcome.
func (f *Figure) measured(headline string, raw any, ref *Reference, ratioValue float64, met *bool) {
	f.Status, f.Headline, f.Raw, f.Reference, f.GoalMet = statusMeasured, headline, raw, ref, met
	if ref != nil {
		f.Ratio = &ratioValue
	}
}

// failed records why a figure could not be measured.
func (f *Figure) failed(err error) {
	f.Status, f.Error = statusFailed, err.Error()
}

func boolPtr(b bool) *bool { return &b }

// writeJSON writes results as indented JSON to path.
func (r *Results) writeJSON(path string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding results: %w", err)
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// writeTable writes one line per figure: status, result, reference, ratio and goal.
func (r *Results) writeTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tstatus\tresult\treference\tratio\tgoal met\tgoal")
	for _, name := range allFigures {
		f := r.figure(name)
		result, ref, rat, met := f.Headline, "-", "-", "-"
		if f.Status == statusFailed {
			result = "error: " + firstLine(f.Error)
		}
		if f.Reference != nil {
			ref = fmt.Sprintf("%s %s (%s)", formatNumber(f.Reference.Value), f.Reference.Unit, f.Reference.What)
		}
		if f.Ratio != nil {
			rat = fmt.Sprintf("%.2f", *f.Ratio)
		}
		if f.GoalMet != nil {
			met = map[bool]string{true: "yes", false: "NO"}[*f.GoalMet]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, f.Status, orDash(result), ref, rat, met, f.Goal)
	}
	return tw.Flush()
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// formatNumber prints a number with at most three significant decimals.
func formatNumber(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// describeMachine gathers the machine's description; kengineBin, when set, is asked for its
// version.
func describeMachine(kengineBin string) Machine {
	m := Machine{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(data)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kib int
		for line := range strings.Lines(string(data)) {
			if _, err := fmt.Sscanf(line, "MemTotal: %d kB", &kib); err == nil {
				m.MemoryMiB = kib / 1024
				break
			}
		}
	}
	if kengineBin != "" {
		if out, err := exec.Command(kengineBin, "version").Output(); err == nil {
			m.Kengine = strings.TrimSpace(string(bytes.TrimSpace(out)))
		}
	}
	return m
}

// gitCommit returns HEAD of the repository at root, with "-dirty" when the tree has changes.
func gitCommit(root string) string {
	out, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	commit := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "-C", root, "status", "--porcelain").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		commit += "-dirty"
	}
	return commit
}
