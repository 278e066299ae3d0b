package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestResultsJSONShape checks the contract of results.json: one object with machine, commit
// and one key per figure, each carrying status and goal, and, once measured, its raw
// numbers, reference and ratio. A figure left out by -figures is there as not_run.
func TestResultsJSONShape(t *testing.T) {
	res := newResults()
	res.Commit = "abc123"
	res.Machine = Machine{OS: "linux", Arch: "amd64", CPUs: 2, GoVersion: "go1.26"}
	recordFanout(res.Fanout, fanoutRaw{Routes: 100, Concurrency: 16, Points: []fanoutPoint{
		{Pods: 1, Push: Summary{N: 20, P50: 10}}, {Pods: 50, Push: Summary{N: 20, P50: 30}},
	}})
	res.Burst.failed(os.ErrNotExist)

	path := filepath.Join(t.TempDir(), "results.json")
	if err := res.writeJSON(path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range doc {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"burst", "commit", "controller_memory", "data_plane", "duration_seconds", "fanout", "load_floor", "machine", "propagation", "render", "started"}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("top-level keys (-want +got):\n%s", diff)
	}
	for _, name := range allFigures {
		var f map[string]any
		if err := json.Unmarshal(doc[name], &f); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if f["status"] == nil || f["goal"] == nil {
			t.Errorf("%s has no status or goal: %v", name, f)
		}
	}

	var fanout struct {
		Status    string
		Ratio     *float64
		GoalMet   *bool `json:"goal_met"`
		Reference *Reference
		Raw       fanoutRaw
	}
	if err := json.Unmarshal(doc[figFanout], &fanout); err != nil {
		t.Fatal(err)
	}
	if fanout.Status != statusMeasured || fanout.Ratio == nil || *fanout.Ratio != 3 || fanout.GoalMet == nil || *fanout.GoalMet ||
		fanout.Reference == nil || fanout.Reference.Value != 10 || fanout.Reference.Unit != "ms" || len(fanout.Raw.Points) != 2 {
		t.Errorf("fanout entry %s", doc[figFanout])
	}
	var burst map[string]any
	_ = json.Unmarshal(doc[figBurst], &burst)
	if burst["status"] != statusFailed || burst["error"] == "" || burst["ratio"] != nil {
		t.Errorf("failed burst entry %s", doc[figBurst])
	}
	var render map[string]any
	_ = json.Unmarshal(doc[figRender], &render)
	if render["status"] != statusNotRun || render["ratio"] != nil || render["raw"] != nil {
		t.Errorf("not-run render entry %s", doc[figRender])
	}
}

func TestTableHasARowPerFigure(t *testing.T) {
	res := newResults()
	recordRender(res.Render, renderRaw{Routes: 5000, MillisPerOp: 160, BytesPerOp: 80e6}, loadFloor{5000: {P50: 320}})
	var buf bytes.Buffer
	if err := res.writeTable(&buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != len(allFigures)+1 {
		t.Fatalf("%d lines, want a header and %d figures:\n%s", len(lines), len(allFigures), buf.String())
	}
	for i, name := range allFigures {
		if !strings.HasPrefix(lines[i+1], name+" ") {
			t.Errorf("line %d is %q, want figure %s", i+1, lines[i+1], name)
		}
	}
	if !strings.Contains(buf.String(), "0.50") || !strings.Contains(buf.String(), "NO") {
		t.Errorf("the render row lacks its ratio 0.50 or its missed goal:\n%s", buf.String())
	}
}

func TestPropagationGoalChecksP99AtOneThousand(t *testing.T) {
	f := newResults().Propagation
	recordPropagation(f, []propagationPoint{
		{Routes: 100, Propagation: Summary{P50: 50, P99: 80}, LoadFloor: Summary{P50: 50}, Ratio: 1},
		{Routes: 1000, Propagation: Summary{P50: 100, P99: 300}, LoadFloor: Summary{P50: 100}, Ratio: 1},
	})
	if f.GoalMet == nil || *f.GoalMet {
		t.Errorf("p99 300 ms at 1,000 routes met the goal: %+v", f)
	}
	if f.Ratio == nil || *f.Ratio != 1 || f.Reference.Value != 100 {
		t.Errorf("headline is not the largest route count's: %+v", f)
	}
}

func TestParseInts(t *testing.T) {
	got, err := parseInts("5000, 100,1000,100")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{100, 1000, 5000}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, bad := range []string{"", "a", "0", "-3", "1,,x"} {
		if _, err := parseInts(bad); err == nil {
			t.Errorf("parseInts(%q) succeeded", bad)
		}
	}
}
