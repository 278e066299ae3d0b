package controller

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"sync"
	"time"

	"github.com/khulnasoft/gateway/controller/translate"
)

// LookupFunc resolves a host name to IP addresses.
type LookupFunc func(ctx context.Context, host string) ([]netip.Addr, error)

// nameResolver resolves ExternalName targets for the snapshot and remembers each answer for a
// while, so that syncing many Gateways does not query DNS for every sync.
type nameResolver struct {
	lookup  LookupFunc
	ttl     time.Duration
	timeout time.Duration
	now     func() time.Time

	mu    sync.Mutex
	cache map[string]cachedName
}

type cachedName struct {
	result  translate.ResolvedName
	expires time.Time
}

// newNameResolver returns a resolver; a nil lookup uses the system resolver.
func newNameResolver(lookup LookupFunc, now func() time.Time) *nameResolver {
	if lookup == nil {
		lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	if now == nil {
		now = time.Now
	}
	return &nameResolver{lookup: lookup, ttl: 30 * time.Second, timeout: 2 * time.Second, now: now, cache: map[string]cachedName{}}
}

// resolve returns the addresses of host, from the cache while they are fresh.
func (r *nameResolver) resolve(ctx context.Context, host string) translate.ResolvedName {
	now := r.now()
	r.mu.Lock()
	c, ok := r.cache[host]
	r.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.result
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	addrs, err := r.lookup(ctx, host)
	res := translate.ResolvedName{Err: err}
	if err == nil {
		for _, a := range addrs {
			res.Addrs = append(res.Addrs, a.Unmap())
		}
		sort.Slice(res.Addrs, func(i, j int) bool { return res.Addrs[i].Less(res.Addrs[j]) })
		if len(res.Addrs) == 0 {
			res.Err = fmt.Errorf("no addresses")
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// Bound the cache: names that no route uses any more age out here.
	for name, e := range r.cache {
		if !now.Before(e.expires) {
			delete(r.cache, name)
		}
	}
	r.cache[host] = cachedName{result: res, expires: now.Add(r.ttl)}
	return res
}
