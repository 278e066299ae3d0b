package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// loadResult is what one load run measured.
type loadResult struct {
	Requests  int             `json:"requests"`
	Seconds   float64         `json:"seconds"`
	Latencies []time.Duration `json:"-"`
}

// newKeepAliveClient is one load-generator connection: keep-alive, no proxy, no compression.
func newKeepAliveClient() *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil,
			MaxIdleConnsPerHost: 1,
			DisableCompression:  true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// generateLoad sends GET url with the Host header host over conns keep-alive connections,
// each sending its next request when the last answer is read, for d. Any answer but 200 or a
// transport error fails the run: a figure must not count errors as throughput.
func generateLoad(ctx context.Context, url, host string, conns int, d time.Duration) (loadResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	deadline := time.Now().Add(d)
	var (
		mu       sync.Mutex
		all      []time.Duration
		firstErr error
		wg       sync.WaitGroup
	)
	start := time.Now()
	for range conns {
		wg.Go(func() {
			client := newKeepAliveClient()
			defer client.CloseIdleConnections()
			var mine []time.Duration
			for time.Now().Before(deadline) && ctx.Err() == nil {
				lat, err := getOK(ctx, client, url, host)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
					return
				}
				mine = append(mine, lat)
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return loadResult{}, firstErr
	}
	return loadResult{Requests: len(all), Seconds: elapsed.Seconds(), Latencies: all}, nil
}

// getOK sends one request and returns its latency, the body read to the end.
func getOK(ctx context.Context, client *http.Client, url, host string) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Host = host
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	lat := time.Since(start)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s (Host %s): %s", url, host, resp.Status)
	}
	return lat, nil
}

// readAllLimited reads a response body of at most 16 MiB.
func readAllLimited(resp *http.Response) ([]byte, error) {
	return io.ReadAll(io.LimitReader(resp.Body, 16<<20))
}
