package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/khulnasoft/gateway/kengine"
)

// standalone is what the standalone figures share: the Kengine binary, a scratch directory
// and the ports every process's config uses.
type standalone struct {
	bin string
	dir string
	sr  standaloneRender
	// listenerPort is the Gateway listener's port in standalone configs (80 in the cluster;
	// here a free port, so the suite never competes with the environment's load balancers).
	listenerPort int
}

func newStandalone(bin, dir string) (*standalone, error) {
	admin, err := ports.one()
	if err != nil {
		return nil, err
	}
	health, err := ports.run(3)
	if err != nil {
		return nil, err
	}
	listener, err := ports.one()
	if err != nil {
		return nil, err
	}
	return &standalone{bin: bin, dir: dir, sr: standaloneRender{adminPort: admin, healthPort: health}, listenerPort: listener}, nil
}

// snapshotConfig renders the bench Gateway with n routes whose backends listen on
// backendPort.
func (st *standalone) snapshotConfig(n, backendPort int) ([]byte, string, error) {
	s := benchSnapshot(snapshotOptions{routes: n, backendPort: backendPort})
	s.Gateway.Spec.Listeners[0].Port = gatewayPort(st.listenerPort)
	return st.sr.config(s)
}

// start runs one Kengine on host, named for its directory.
func (st *standalone) start(ctx context.Context, name, host string) (*kengineProcess, error) {
	return startKengine(ctx, st.bin, filepath.Join(st.dir, name), host, st.sr.adminPort, st.sr.origins)
}

// client is the controller's Admin API client for standalone processes: plain HTTP on the
// admin port, the controller's default push concurrency.
func (st *standalone) client() (*kengine.Client, error) {
	return kengine.NewClient(kengine.ClientOptions{Port: st.sr.adminPort, Insecure: true, Timeout: 2 * time.Minute, Concurrency: controllerPushConcurrency})
}

// controllerPushConcurrency is the controller's --kengine-push-concurrency default.
const controllerPushConcurrency = 16

// loadFloorPoint is the floor at one route count.
type loadFloorPoint struct {
	Routes      int     `json:"routes"`
	ConfigBytes int     `json:"config_bytes"`
	Load        Summary `json:"load"`
}

// loadFloor maps a route count to its /load summary.
type loadFloor map[int]Summary

// measureLoadFloor times Kengine's own POST /load of the rendered bench config at each route
// count on one standalone process: loads alternate between n and n+1 routes, so every one
// is a real change (an identical config is a no-op), as a route creation is.
func measureLoadFloor(ctx context.Context, st *standalone, counts []int, samples int) ([]loadFloorPoint, loadFloor, error) {
	p, err := st.start(ctx, "load-floor", "127.0.0.1")
	if err != nil {
		return nil, nil, err
	}
	defer p.stop()
	client, err := st.client()
	if err != nil {
		return nil, nil, err
	}
	ep := kengine.Endpoint{Pod: "load-floor", Namespace: benchNamespace, UID: "load-floor", Address: p.host}
	var points []loadFloorPoint
	floor := loadFloor{}
	for _, n := range counts {
		// The backend port is never dialled: /load does not connect to upstreams.
		a, _, err := st.snapshotConfig(n, 1)
		if err != nil {
			return nil, nil, err
		}
		b, _, err := st.snapshotConfig(n+1, 1)
		if err != nil {
			return nil, nil, err
		}
		if err := client.Load(ctx, ep, a); err != nil {
			return nil, nil, fmt.Errorf("loading %d routes: %w", n, err)
		}
		var ds []time.Duration
		for i := range samples {
			cfg := b
			if i%2 == 1 {
				cfg = a
			}
			start := time.Now()
			if err := client.Load(ctx, ep, cfg); err != nil {
				return nil, nil, fmt.Errorf("loading %d routes: %w", n, err)
			}
			ds = append(ds, time.Since(start))
		}
		sum := summarizeDurations(ds)
		points = append(points, loadFloorPoint{Routes: n, ConfigBytes: len(a), Load: sum})
		floor[n] = sum
		fmt.Printf("  /load floor at %d routes (%d bytes): p50 %.1f ms, p99 %.1f ms\n", n, len(a), sum.P50, sum.P99)
	}
	return points, floor, nil
}
