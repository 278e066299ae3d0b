package main

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/khulnasoft/gateway/kengine"
)

// fanoutPoint is the push time at one pod count.
type fanoutPoint struct {
	Pods int     `json:"pods"`
	Push Summary `json:"push"`
}

// fanoutRaw is the fan-out figure's raw numbers.
type fanoutRaw struct {
	Routes      int           `json:"routes"`
	ConfigBytes int           `json:"config_bytes"`
	Concurrency int           `json:"push_concurrency"`
	Points      []fanoutPoint `json:"points"`
}

// fanoutHost is the loopback address of the i-th fan-out process (127.0.2.1 and up): every
// process has the same admin port on its own address, as pods do.
func fanoutHost(i int) string { return fmt.Sprintf("127.0.2.%d", i+1) }

// measureFanout starts max(podCounts) Kengine processes on their own loopback addresses and
// times the controller's Push of one config to the first n of them for each n, alternating
// between two versions so that no push is skipped as already running.
func measureFanout(ctx context.Context, st *standalone, podCounts []int, routes, samples int) (fanoutRaw, error) {
	raw := fanoutRaw{Routes: routes, Concurrency: controllerPushConcurrency}
	maxPods := 0
	for _, n := range podCounts {
		maxPods = max(maxPods, n)
	}
	if maxPods > 254 {
		return raw, fmt.Errorf("at most 254 fan-out processes, not %d", maxPods)
	}
	// Every process's Admin API accepts every process's address as Host: one config for all.
	fst := *st
	st = &fst
	st.sr.origins = nil
	for i := range maxPods {
		st.sr.origins = append(st.sr.origins, net.JoinHostPort(fanoutHost(i), strconv.Itoa(st.sr.adminPort)))
	}
	a, va, err := st.snapshotConfig(routes, 1)
	if err != nil {
		return raw, err
	}
	b, vb, err := st.snapshotConfig(routes+1, 1)
	if err != nil {
		return raw, err
	}
	raw.ConfigBytes = len(a)

	procs := make([]*kengineProcess, maxPods)
	defer func() { stopAll(procs) }()
	var g errgroup.Group
	// Starting is CPU-bound; two at a time per core is enough.
	g.SetLimit(4)
	var mu sync.Mutex
	for i := range maxPods {
		g.Go(func() error {
			p, err := st.start(ctx, fmt.Sprintf("fanout-%02d", i), fanoutHost(i))
			mu.Lock()
			procs[i] = p
			mu.Unlock()
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return raw, err
	}
	eps := make([]kengine.Endpoint, maxPods)
	for i := range eps {
		name := fmt.Sprintf("kengine-%02d", i)
		eps[i] = kengine.Endpoint{Pod: name, Namespace: benchNamespace, UID: "uid-" + name, Address: fanoutHost(i)}
	}

	for _, n := range podCounts {
		// A fresh client per pod count, as the controller has one per Gateway; its first push
		// (the warm-up, not timed) opens the connections it keeps.
		client, err := st.client()
		if err != nil {
			return raw, err
		}
		if err := pushAll(ctx, client, eps[:n], a, va); err != nil {
			return raw, err
		}
		var ds []time.Duration
		for i := range samples {
			cfg, version := b, vb
			if i%2 == 1 {
				cfg, version = a, va
			}
			start := time.Now()
			if err := pushAll(ctx, client, eps[:n], cfg, version); err != nil {
				return raw, err
			}
			ds = append(ds, time.Since(start))
		}
		sum := summarizeDurations(ds)
		raw.Points = append(raw.Points, fanoutPoint{Pods: n, Push: sum})
		fmt.Printf("  fan-out to %d pods: p50 %.1f ms, p99 %.1f ms\n", n, sum.P50, sum.P99)
	}
	return raw, nil
}

// pushAll pushes with the controller's fan-out and fails unless every pod loaded the config.
func pushAll(ctx context.Context, client *kengine.Client, eps []kengine.Endpoint, cfg []byte, version string) error {
	for _, r := range client.Push(ctx, eps, cfg, version) {
		if r.Err != nil {
			return fmt.Errorf("push to %s: %w", r.Endpoint, r.Err)
		}
		if r.Skipped {
			return fmt.Errorf("push to %s skipped: the pod already ran version %s", r.Endpoint, version[:12])
		}
	}
	return nil
}
