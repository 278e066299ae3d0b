package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/khulnasoft/gateway/kengine"
)

// dataPlaneSide is one config's throughput and latency under load.
type dataPlaneSide struct {
	RequestsPerSecond float64 `json:"requests_per_second"`
	Requests          int     `json:"requests"`
	Latency           Summary `json:"latency"`
}

// dataPlaneRaw is the data-plane figure's raw numbers.
type dataPlaneRaw struct {
	Hostnames       int           `json:"hostnames"`
	Host            string        `json:"host_under_load"`
	Connections     int           `json:"connections"`
	SecondsPerSide  float64       `json:"seconds_per_side"`
	Rendered        dataPlaneSide `json:"rendered"`
	HandWritten     dataPlaneSide `json:"hand_written"`
	RenderedBytes   int           `json:"rendered_config_bytes"`
	FirstHost       string        `json:"first_host"`
	LastHost        string        `json:"last_host"`
	FirstLatency    Summary       `json:"first_host_latency"`
	LastLatency     Summary       `json:"last_host_latency"`
	LastMinusFirst  float64       `json:"last_minus_first_p50_ms"`
	RequestsPerHost int           `json:"latency_requests_per_host"`
}

// dataPlaneOptions sizes the data-plane figure.
type dataPlaneOptions struct {
	hostnames   int
	connections int
	duration    time.Duration // per side and round
	rounds      int
	latencyReqs int
}

// measureDataPlane compares one route among o.hostnames hostnames, rendered by translate and
// render, with a hand-written minimal config for the same route, on one Kengine process and
// one backend: requests per second and latency under load for the last-defined hostname (the
// worst case for a linear match), then the unloaded latency of the first and last hostnames.
func measureDataPlane(ctx context.Context, st *standalone, o dataPlaneOptions) (dataPlaneRaw, error) {
	raw := dataPlaneRaw{Hostnames: o.hostnames, Connections: o.connections, SecondsPerSide: o.duration.Seconds() * float64(o.rounds), RequestsPerHost: o.latencyReqs}
	backend, backendPort, err := startBackend()
	if err != nil {
		return raw, err
	}
	defer func() { _ = backend.Close() }()

	rendered, _, err := st.snapshotConfig(o.hostnames, backendPort)
	if err != nil {
		return raw, err
	}
	raw.RenderedBytes = len(rendered)
	raw.FirstHost, raw.LastHost = routeHost(benchPrefix, 0), routeHost(benchPrefix, o.hostnames-1)
	raw.Host = raw.LastHost
	if i, j := bytes.Index(rendered, []byte(`"`+raw.FirstHost+`"`)), bytes.Index(rendered, []byte(`"`+raw.LastHost+`"`)); i < 0 || j < 0 || i > j {
		return raw, fmt.Errorf("the rendered config does not define %s before %s", raw.FirstHost, raw.LastHost)
	}
	hand, err := handWrittenConfig(st, raw.Host, backendPort)
	if err != nil {
		return raw, err
	}

	p, err := st.start(ctx, "data-plane", "127.0.0.1")
	if err != nil {
		return raw, err
	}
	defer p.stop()
	client, err := st.client()
	if err != nil {
		return raw, err
	}
	ep := kengine.Endpoint{Pod: "data-plane", Namespace: benchNamespace, UID: "data-plane", Address: p.host}
	url := "http://" + net.JoinHostPort(p.host, strconv.Itoa(st.listenerPort)) + "/"

	sides := map[string]*loadResult{"rendered": {}, "hand": {}}
	configs := map[string][]byte{"rendered": rendered, "hand": hand}
	// ABBA order, so that a drift of the machine's speed during the run favours neither.
	var order []string
	for r := range o.rounds {
		if r%2 == 0 {
			order = append(order, "hand", "rendered")
		} else {
			order = append(order, "rendered", "hand")
		}
	}
	for _, side := range order {
		if err := client.Load(ctx, ep, configs[side]); err != nil {
			return raw, fmt.Errorf("loading the %s config: %w", side, err)
		}
		// Warm up: connections, the backend's and Kengine's first allocations.
		if _, err := generateLoad(ctx, url, raw.Host, o.connections, 500*time.Millisecond); err != nil {
			return raw, fmt.Errorf("%s config: %w", side, err)
		}
		res, err := generateLoad(ctx, url, raw.Host, o.connections, o.duration)
		if err != nil {
			return raw, fmt.Errorf("%s config: %w", side, err)
		}
		acc := sides[side]
		acc.Requests += res.Requests
		acc.Seconds += res.Seconds
		acc.Latencies = append(acc.Latencies, res.Latencies...)
	}
	toSide := func(r *loadResult) dataPlaneSide {
		return dataPlaneSide{RequestsPerSecond: float64(r.Requests) / r.Seconds, Requests: r.Requests, Latency: summarizeDurations(r.Latencies)}
	}
	raw.Rendered, raw.HandWritten = toSide(sides["rendered"]), toSide(sides["hand"])

	// Unloaded latency by position: one keep-alive connection, first and last alternating.
	if err := client.Load(ctx, ep, rendered); err != nil {
		return raw, err
	}
	conn := newKeepAliveClient()
	defer conn.CloseIdleConnections()
	var first, last []time.Duration
	for i := range 2 * o.latencyReqs {
		host := raw.FirstHost
		if i%2 == 1 {
			host = raw.LastHost
		}
		lat, err := getOK(ctx, conn, url, host)
		if err != nil {
			return raw, err
		}
		if i < 200 {
			continue // warm-up
		}
		if i%2 == 1 {
			last = append(last, lat)
		} else {
			first = append(first, lat)
		}
	}
	raw.FirstLatency, raw.LastLatency = summarizeDurations(first), summarizeDurations(last)
	raw.LastMinusFirst = raw.LastLatency.P50 - raw.FirstLatency.P50
	fmt.Printf("  data plane: rendered %.0f req/s (p99 %.2f ms), hand-written %.0f req/s (p99 %.2f ms); p50 first %.3f ms, last %.3f ms\n",
		raw.Rendered.RequestsPerSecond, raw.Rendered.Latency.P99, raw.HandWritten.RequestsPerSecond, raw.HandWritten.Latency.P99,
		raw.FirstLatency.P50, raw.LastLatency.P50)
	return raw, nil
}

// handWrittenConfig is the smallest Kengine config that serves host from the backend: what a
// person would write by hand for the one route, with the same admin block.
func handWrittenConfig(st *standalone, host string, backendPort int) ([]byte, error) {
	return json.Marshal(map[string]any{
		"admin": map[string]any{"listen": hostPlaceholder(st.sr.adminPort)},
		"apps": map[string]any{"http": map[string]any{"servers": map[string]any{"hand": map[string]any{
			"listen":          []string{hostPlaceholder(st.listenerPort)},
			"automatic_https": map[string]any{"disable": true},
			"routes": []any{map[string]any{
				"match":    []any{map[string]any{"host": []string{host}}},
				"handle":   []any{map[string]any{"handler": "reverse_proxy", "upstreams": []any{map[string]any{"dial": "127.0.0.1:" + strconv.Itoa(backendPort)}}}},
				"terminal": true,
			}},
		}}}},
	})
}

// startBackend serves a two-byte 200 on a free loopback port: the cheapest backend, so that
// the figure is about Kengine's routing.
func startBackend() (*http.Server, int, error) {
	port, err := ports.one()
	if err != nil {
		return nil, 0, err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, 0, err
	}
	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte("ok"))
		}),
	}
	go func() { _ = srv.Serve(ln) }()
	return srv, port, nil
}
