package kengine

import (
	"context"

	"golang.org/x/sync/errgroup"
)

// Pusher programs Kengine pods. *Client implements it; tests substitute a fake.
type Pusher interface {
	// Push loads config into every endpoint and reports each one's outcome in input order.
	Push(ctx context.Context, eps []Endpoint, config []byte, version string) []Result
	// Forget drops per-pod state for endpoints keep rejects.
	Forget(keep func(Endpoint) bool)
}

var _ Pusher = (*Client)(nil)

// Result is the outcome of pushing a config to one endpoint.
type Result struct {
	// Endpoint is the pod the result is about.
	Endpoint Endpoint
	// Skipped is true when the pod already ran the version and nothing was loaded.
	Skipped bool
	// Err is why the pod could not be programmed; nil on success.
	Err error
}

// Push loads config, whose version Finalize computed, on every endpoint, at most
// Concurrency at a time, each within its own Timeout. A pod that the client last programmed
// with this version and that still reports it is skipped; any other pod gets POST /load.
// One pod failing never stops the others. The results are in the order of eps.
func (c *Client) Push(ctx context.Context, eps []Endpoint, config []byte, version string) []Result {
	results := make([]Result, len(eps))
	// A plain Group: an error must not cancel the siblings, so errors go to the results.
	var g errgroup.Group
	g.SetLimit(c.concurrency)
	for i, ep := range eps {
		g.Go(func() error {
			skipped, err := c.pushOne(ctx, ep, config, version)
			results[i] = Result{Endpoint: ep, Skipped: skipped, Err: err}
			return nil
		})
	}
	_ = g.Wait()
	return results
}

// pushOne programs one pod. The lock is held only to read and write the memory, never
// across a request.
func (c *Client) pushOne(ctx context.Context, ep Endpoint, config []byte, version string) (skipped bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	if version != "" && c.rememberedVersion(ep) == version {
		// The pod may have restarted and lost its config since: ask before skipping. If the
		// question fails, loading is the safe answer.
		if runs, err := c.RunsVersion(ctx, ep, version); err == nil && runs {
			return true, nil
		}
	}
	if err := c.Load(ctx, ep, config); err != nil {
		c.remember(ep, "")
		return false, err
	}
	c.remember(ep, version)
	return false, nil
}

// rememberedVersion returns the version last loaded on ep, or "".
func (c *Client) rememberedVersion(ep Endpoint) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pods[ep.key()].version
}

// remember records the version last loaded on ep; "" forgets it.
func (c *Client) remember(ep Endpoint, version string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.pods[ep.key()]
	st.endpoint, st.version = ep, version
	c.pods[ep.key()] = st
}

// Forget drops what the client remembers about every endpoint for which keep returns false,
// and the connections that only those endpoints used, so that memory follows the pods that
// exist. keep is called with the client's lock held and must not call the client.
func (c *Client) Forget(keep func(Endpoint) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	inUse := make(map[string]bool)
	for key, st := range c.pods {
		if !keep(st.endpoint) {
			delete(c.pods, key)
			continue
		}
		inUse[st.serverName] = true
	}
	for name, hc := range c.clients {
		if !inUse[name] {
			hc.CloseIdleConnections()
			delete(c.clients, name)
		}
	}
}
