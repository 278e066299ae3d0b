package main

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// plotSeries is one line of the plot: a value per route count, NaN where it was not measured.
type plotSeries struct {
	Name   string
	Color  string
	Dashed bool
	Values []float64
}

// propagationPlot is the data of propagation.svg: route counts on a logarithmic x axis,
// milliseconds on a linear y axis.
type propagationPlot struct {
	Title  string
	Routes []int
	Series []plotSeries
}

// Plot geometry, in SVG user units.
const (
	plotWidth   = 720
	plotHeight  = 420
	plotLeft    = 70
	plotRight   = 190
	plotTop     = 40
	plotBottom  = 50
	plotYTicks  = 5
	plotMarkerR = 3.5
)

// writeSVG draws the plot. It is deterministic: the same data gives the same bytes.
func (p propagationPlot) writeSVG(w io.Writer) error {
	var b strings.Builder
	innerW := float64(plotWidth - plotLeft - plotRight)
	innerH := float64(plotHeight - plotTop - plotBottom)

	yMax := 0.0
	for _, s := range p.Series {
		for _, v := range s.Values {
			if !math.IsNaN(v) && v > yMax {
				yMax = v
			}
		}
	}
	yMax = niceCeiling(yMax)

	xMin, xMax := 1.0, 10.0
	if len(p.Routes) > 0 {
		xMin, xMax = float64(p.Routes[0]), float64(p.Routes[len(p.Routes)-1])
	}
	if xMax <= xMin {
		xMin, xMax = xMin/2, xMin*2
	}
	x := func(routes int) float64 {
		return plotLeft + innerW*(math.Log10(float64(routes))-math.Log10(xMin))/(math.Log10(xMax)-math.Log10(xMin))
	}
	y := func(ms float64) float64 { return plotTop + innerH*(1-ms/yMax) }

	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		plotWidth, plotHeight, plotWidth, plotHeight)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", plotWidth, plotHeight)
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="14" font-weight="bold">%s</text>`+"\n", plotLeft, html.EscapeString(p.Title))

	// Grid and y labels.
	for i := 0; i <= plotYTicks; i++ {
		v := yMax * float64(i) / plotYTicks
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", plotLeft, y(v), plotLeft+innerW, y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", plotLeft-6, y(v)+4, formatNumber(v))
	}
	// x labels, one per measured route count.
	for _, n := range p.Routes {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", x(n), plotTop, x(n), plotTop+innerH)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%d</text>`+"\n", x(n), plotTop+innerH+18, n)
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%.1f" fill="none" stroke="#333"/>`+"\n", plotLeft, plotTop, innerW, innerH)
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">HTTPRoutes on the Gateway (log scale)</text>`+"\n", plotLeft+innerW/2, plotHeight-10)
	fmt.Fprintf(&b, `<text x="16" y="%.1f" text-anchor="middle" transform="rotate(-90 16 %.1f)">milliseconds</text>`+"\n", plotTop+innerH/2, plotTop+innerH/2)

	for i, s := range p.Series {
		dash := ""
		if s.Dashed {
			dash = ` stroke-dasharray="6 4"`
		}
		var points []string
		for j, v := range s.Values {
			if j >= len(p.Routes) || math.IsNaN(v) {
				continue
			}
			points = append(points, fmt.Sprintf("%.1f,%.1f", x(p.Routes[j]), y(v)))
		}
		if len(points) > 1 {
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>`+"\n", s.Color, dash, strings.Join(points, " "))
		}
		for _, pt := range points {
			cx, cy, _ := strings.Cut(pt, ",")
			fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="%.1f" fill="%s"/>`+"\n", cx, cy, plotMarkerR, s.Color)
		}
		// Legend.
		ly := plotTop + 10 + 20*i
		lx := plotWidth - plotRight + 15
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/>`+"\n", lx, ly, lx+24, ly, s.Color, dash)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", lx+30, ly+4, html.EscapeString(s.Name))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// niceCeiling rounds v up to 1, 2 or 5 times a power of ten, so the y ticks are round.
func niceCeiling(v float64) float64 {
	if v <= 0 || math.IsNaN(v) {
		return 1
	}
	mag := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*mag {
			return m * mag
		}
	}
	return 10 * mag
}
