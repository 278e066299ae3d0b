package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// options are the suite's flags.
type options struct {
	figures        map[string]bool
	root           string
	out            string
	kengineBin     string
	routeCounts    []int
	floorSamples   int
	renderRuns     int
	fanoutPods     []int
	fanoutRoutes   int
	fanoutSamples  int
	dataPlane      dataPlaneOptions
	cluster        clusterOptions
	propSamples    int
	burstRoutes    int
	memoryAtRoutes []int
}

func main() {
	os.Exit(run())
}

func run() int {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// The environment is checked before anything is measured, and without it nothing is
	// written: a run without its cluster fails at once and never replaces the last results.
	var c *cluster
	if env := envFigures(o); len(env) > 0 {
		var err error
		if c, err = newCluster(ctx, o.cluster); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s need the local environment (make dev): %v\n"+
				"bench: -figures=load_floor,render,fanout,data_plane measures the standalone figures alone\n", strings.Join(env, ", "), err)
			return 1
		}
		defer c.cleanup()
	}

	started := time.Now()
	res := newResults()
	res.Started = started.UTC().Format(time.RFC3339)
	res.Commit = gitCommit(o.root)
	res.Machine = describeMachine(o.kengineBin)

	failed := runFigures(ctx, o, c, res)

	res.DurationSeconds = math.Round(time.Since(started).Seconds())
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	jsonPath, svgPath := filepath.Join(o.out, "results.json"), filepath.Join(o.out, "propagation.svg")
	if err := res.writeJSON(jsonPath); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	if err := writePropagationSVG(svgPath, res); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	fmt.Printf("\nmachine: %d CPUs (%s), %d MiB, %s; commit %s; %.0f s\n\n",
		res.Machine.CPUs, res.Machine.CPUModel, res.Machine.MemoryMiB, res.Machine.Kengine, res.Commit, res.DurationSeconds)
	_ = res.writeTable(os.Stdout)
	fmt.Printf("\nwrote %s and %s\n", jsonPath, svgPath)
	if len(failed) > 0 {
		fmt.Fprintf(os.Stderr, "\nbench: FAILED: %s\n", strings.Join(failed, ", "))
		return 1
	}
	return 0
}

// envFigures are the selected figures that need the local environment.
func envFigures(o options) []string {
	var out []string
	for _, name := range allFigures {
		if clusterFigures[name] && o.figures[name] {
			out = append(out, name)
		}
	}
	return out
}

// runFigures measures the selected figures in order and returns the names of those that
// failed. The /load floor runs first whenever a figure uses it as its reference; c is the
// environment, nil when no selected figure needs it.
func runFigures(ctx context.Context, o options, c *cluster, res *Results) (failed []string) {
	fail := func(name string, err error) {
		fmt.Fprintf(os.Stderr, "bench: %s: %v\n", name, err)
		res.figure(name).failed(err)
		failed = append(failed, name)
	}
	var st *standalone
	needStandalone := o.figures[figLoadFloor] || o.figures[figRender] || o.figures[figFanout] || o.figures[figDataPlane]
	if needStandalone {
		dir, err := os.MkdirTemp("", "kengine-bench-")
		if err != nil {
			fail(figLoadFloor, err)
			return failed
		}
		defer func() { _ = os.RemoveAll(dir) }()
		if st, err = newStandalone(o.kengineBin, dir); err != nil {
			fail(figLoadFloor, err)
			return failed
		}
	}

	var floor loadFloor
	if o.figures[figLoadFloor] {
		fmt.Println("load_floor: POST /load of the rendered bench config on a standalone Kengine")
		points, fl, err := measureLoadFloor(ctx, st, o.routeCounts, o.floorSamples)
		if err != nil {
			fail(figLoadFloor, err)
		} else {
			floor = fl
			var parts []string
			for _, p := range points {
				parts = append(parts, fmt.Sprintf("%d routes p50 %.1f ms", p.Routes, p.Load.P50))
			}
			res.LoadFloor.measured(strings.Join(parts, ", "), points, nil, 0, nil)
		}
	}

	if o.figures[figRender] {
		fmt.Println("render: translate + render + finalize, Go benchmark in process")
		n := slices.Max(o.routeCounts)
		raw, err := measureRender(st, n, o.renderRuns)
		if err != nil {
			fail(figRender, err)
		} else {
			recordRender(res.Render, raw, floor)
		}
	}

	if o.figures[figFanout] {
		fmt.Println("fanout: the controller's Push to standalone Kengine processes on loopback")
		raw, err := measureFanout(ctx, st, o.fanoutPods, o.fanoutRoutes, o.fanoutSamples)
		if err != nil {
			fail(figFanout, err)
		} else {
			recordFanout(res.Fanout, raw)
		}
	}

	if o.figures[figDataPlane] {
		fmt.Println("data_plane: one route among many hostnames, rendered vs hand-written config")
		raw, err := measureDataPlane(ctx, st, o.dataPlane)
		if err != nil {
			fail(figDataPlane, err)
		} else {
			recordDataPlane(res.DataPlane, raw)
		}
	}

	for _, name := range envFigures(o) {
		if err := c.measure(ctx, name, o, floor, res); err != nil {
			fail(name, err)
		}
	}
	return failed
}

func parseFlags(args []string) (options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var o options
	figures := fs.String("figures", strings.Join(allFigures, ","), "comma-separated figures to measure: "+strings.Join(allFigures, ", ")+
		"; the standalone ones (load_floor, render, fanout, data_plane) need no cluster")
	fs.StringVar(&o.root, "root", "", "repository root (default: the enclosing git checkout)")
	fs.StringVar(&o.out, "out", "", "directory for results.json and propagation.svg (default: <root>/e2e/bench)")
	fs.StringVar(&o.kengineBin, "kengine-bin", os.Getenv("KENGINE_BIN"), "Kengine binary for the standalone processes (default $KENGINE_BIN, else <root>/.dev/bin/kengine)")
	counts := fs.String("routes", "100,1000,5000", "route counts of the /load floor and propagation; the largest is the render figure's")
	fs.IntVar(&o.floorSamples, "floor-samples", 20, "POST /load samples per route count")
	fs.IntVar(&o.renderRuns, "render-runs", 3, "benchmark runs of the render figure (the median is reported)")
	pods := fs.String("fanout-pods", "1,10,50", "pod counts of the fan-out figure (the first is the reference)")
	fs.IntVar(&o.fanoutRoutes, "fanout-routes", 100, "routes in the fan-out figure's config")
	fs.IntVar(&o.fanoutSamples, "fanout-samples", 20, "pushes per pod count")
	fs.IntVar(&o.dataPlane.hostnames, "dataplane-hostnames", 10000, "hostnames (one route each) in the data-plane figure's rendered config")
	fs.IntVar(&o.dataPlane.connections, "dataplane-connections", 8, "keep-alive connections of the load generator")
	fs.DurationVar(&o.dataPlane.duration, "dataplane-duration", 4*time.Second, "load time per config and round")
	fs.IntVar(&o.dataPlane.rounds, "dataplane-rounds", 2, "rounds per config (ABBA order)")
	fs.IntVar(&o.dataPlane.latencyReqs, "dataplane-latency-requests", 2000, "unloaded requests per hostname for the first/last latency")
	fs.IntVar(&o.propSamples, "propagation-samples", 30, "new routes timed per route count")
	fs.IntVar(&o.burstRoutes, "burst-routes", 1000, "routes created at once in the burst figure")
	memAt := fs.String("memory-at", "1000,5000", "route counts at which the controller's memory is read (each must be in -routes)")
	fs.StringVar(&o.cluster.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the local environment (default $KUBECONFIG)")
	fs.StringVar(&o.cluster.class, "gateway-class", benchClass, "GatewayClass of the bench Gateways")
	fs.StringVar(&o.cluster.controllerNamespace, "controller-namespace", "kengine-gateway-system", "namespace of the controller's pods")
	fs.StringVar(&o.cluster.controllerSelector, "controller-selector", "app.kubernetes.io/name=kengine-gateway", "label selector of the controller's pods")
	fs.StringVar(&o.cluster.metricsURL, "controller-metrics-url", "", "the controller's /metrics URL when it runs out of cluster (DEV_CONTROLLER=local: http://127.0.0.1:8080/metrics); default: through the API server's pod proxy")
	fs.IntVar(&o.cluster.workers, "create-workers", 16, "parallel API writes when creating routes")
	fs.BoolVar(&o.cluster.keep, "keep", false, "keep the bench namespace afterwards")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.figures = map[string]bool{}
	for _, name := range strings.Split(*figures, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if !slices.Contains(allFigures, name) {
			return o, fmt.Errorf("unknown figure %q (figures: %s)", name, strings.Join(allFigures, ", "))
		}
		o.figures[name] = true
	}
	// The floor is the reference of render, propagation and burst.
	if o.figures[figRender] || o.figures[figPropagation] || o.figures[figBurst] {
		o.figures[figLoadFloor] = true
	}
	var err error
	if o.routeCounts, err = parseInts(*counts); err != nil {
		return o, fmt.Errorf("-routes: %w", err)
	}
	if o.fanoutPods, err = parseInts(*pods); err != nil {
		return o, fmt.Errorf("-fanout-pods: %w", err)
	}
	if o.memoryAtRoutes, err = parseInts(*memAt); err != nil {
		return o, fmt.Errorf("-memory-at: %w", err)
	}
	for _, n := range o.memoryAtRoutes {
		if o.figures[figMemory] && !slices.Contains(o.routeCounts, n) {
			return o, fmt.Errorf("-memory-at %d is not one of -routes %v", n, o.routeCounts)
		}
	}
	if o.root == "" {
		out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
		if err != nil {
			return o, errors.New("not in a git checkout: set -root")
		}
		o.root = strings.TrimSpace(string(out))
	}
	if o.out == "" {
		o.out = filepath.Join(o.root, "e2e", "bench")
	}
	if o.kengineBin == "" {
		o.kengineBin = filepath.Join(o.root, ".dev", "bin", "kengine")
	}
	if o.figures[figLoadFloor] || o.figures[figFanout] || o.figures[figDataPlane] {
		if _, err := os.Stat(o.kengineBin); err != nil {
			return o, fmt.Errorf("the Kengine binary: %w (make kengine builds it)", err)
		}
	}
	return o, nil
}

// parseInts parses a comma-separated list of positive integers, sorted ascending.
func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("empty list")
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
