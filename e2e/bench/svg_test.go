package main

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"strings"
	"testing"
)

func TestNiceCeiling(t *testing.T) {
	for _, tt := range []struct{ in, want float64 }{
		{0, 1}, {-3, 1}, {math.NaN(), 1}, {0.7, 1}, {1, 1}, {1.2, 2}, {3, 5}, {7, 10}, {98, 100}, {101, 200}, {420, 500},
	} {
		if got := niceCeiling(tt.in); got != tt.want {
			t.Errorf("niceCeiling(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func testPlot() propagationPlot {
	return propagationPlot{
		Title:  "propagation <test> & floor",
		Routes: []int{100, 1000, 5000},
		Series: []plotSeries{
			{Name: "propagation p50", Color: "#1f77b4", Values: []float64{40, 120, 450}},
			{Name: "propagation p99", Color: "#1f77b4", Dashed: true, Values: []float64{60, math.NaN(), 700}},
			{Name: "/load floor p50", Color: "#7f7f7f", Values: []float64{10, 80, 330}},
		},
	}
}

// TestPlotIsWellFormedSVG parses the output as XML and checks what a reader needs: one
// polyline per series with two or more points, a marker per measured point, a legend entry
// per series, the escaped title, and round y ticks.
func TestPlotIsWellFormedSVG(t *testing.T) {
	var buf bytes.Buffer
	if err := testPlot().writeSVG(&buf); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(buf.Bytes()))
	counts := map[string]int{}
	var texts []string
	var root string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, buf.String())
		}
		switch el := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = el.Name.Local
			}
			counts[el.Name.Local]++
		case xml.CharData:
			if s := strings.TrimSpace(string(el)); s != "" {
				texts = append(texts, s)
			}
		}
	}
	if root != "svg" {
		t.Fatalf("root element %q, want svg", root)
	}
	// The p99 series misses its middle point: a line through the two others, two markers.
	if counts["polyline"] != 3 {
		t.Errorf("%d polylines, want 3", counts["polyline"])
	}
	if counts["circle"] != 8 {
		t.Errorf("%d markers, want 8 (3 + 2 + 3)", counts["circle"])
	}
	joined := strings.Join(texts, "|")
	for _, want := range []string{"propagation <test> & floor", "propagation p50", "propagation p99", "/load floor p50", "100", "1000", "5000", "800"} {
		if !strings.Contains(joined, want) {
			t.Errorf("no text %q in %q", want, joined)
		}
	}
}

func TestPlotIsDeterministic(t *testing.T) {
	var a, b bytes.Buffer
	if err := testPlot().writeSVG(&a); err != nil {
		t.Fatal(err)
	}
	if err := testPlot().writeSVG(&b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two renderings of the same plot differ")
	}
}

func TestPlotWithNothingMeasuredStillRenders(t *testing.T) {
	var buf bytes.Buffer
	p := propagationPlot{Title: "empty", Routes: []int{1000}, Series: []plotSeries{{Name: "p50", Color: "#000", Values: []float64{math.NaN()}}}}
	if err := p.writeSVG(&buf); err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(buf.Bytes(), new(struct{})); err != nil {
		t.Fatalf("not well-formed: %v", err)
	}
	if strings.Contains(buf.String(), "NaN") || strings.Contains(buf.String(), "Inf") {
		t.Errorf("NaN or Inf in the output:\n%s", buf.String())
	}
}
