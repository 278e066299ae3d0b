package controller

import (
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/types"

	"github.com/khulnasoft/gateway/controller/render"
	"github.com/khulnasoft/gateway/controller/translate"
	"github.com/khulnasoft/gateway/kengine"
)

// renderCache keeps what one Gateway's renders can share from one sync to the next: the
// encoded virtual hosts (render.Cache, keyed by everything they depend on, so an entry is
// never stale, only unused) and the size of the last config, which the next one is encoded
// into with a single allocation. A render drops the fragments the render before it did not
// use, so the cache holds about two configs' worth of fragments at most.
type renderCache struct {
	mu        sync.Mutex
	fragments map[string]*cachedFragment
	// renders counts the renders; a fragment remembers the last one that used it.
	renders int
	// size is the length of the last config; fragmentBytes the length of the fragments the
	// current render took, which estimates the config's length on a Gateway's first render.
	size, fragmentBytes int
}

// cachedFragment is a fragment and the last render that used it.
type cachedFragment struct {
	fragment *render.Fragment
	used     int
}

// Fragment implements render.Cache.
func (c *renderCache) Fragment(key []byte) (*render.Fragment, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.fragments[string(key)]
	if !ok {
		return nil, false
	}
	e.used = c.renders
	c.fragmentBytes += e.fragment.Size()
	return e.fragment, true
}

// StoreFragment implements render.Cache.
func (c *renderCache) StoreFragment(key []byte, f *render.Fragment) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fragments == nil {
		c.fragments = map[string]*cachedFragment{}
	}
	c.fragments[string(key)] = &cachedFragment{fragment: f, used: c.renders}
	c.fragmentBytes += f.Size()
}

// render renders a translation into the bytes pushed to the pods and their version, like
// renderConfig, reusing what earlier renders encoded.
func (c *renderCache) render(tr *translate.Result, opts render.Options) ([]byte, string, error) {
	c.mu.Lock()
	c.renders++
	for key, e := range c.fragments {
		if e.used < c.renders-1 {
			delete(c.fragments, key)
		}
	}
	c.fragmentBytes = 0
	c.mu.Unlock()
	opts.Cache = c
	data, version, err := finalizeConfig(tr, opts, func() int {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.size > 0 {
			return c.size
		}
		// The routes are most of a config; the rest is small.
		return c.fragmentBytes + c.fragmentBytes/16 + 16<<10
	})
	if err == nil {
		c.mu.Lock()
		c.size = len(data)
		c.mu.Unlock()
	}
	return data, version, err
}

// renderCaches keeps a renderCache per Gateway.
type renderCaches struct {
	mu        sync.Mutex
	byGateway map[types.NamespacedName]*renderCache
}

// forGateway returns the Gateway's cache, creating it on first use.
func (m *renderCaches) forGateway(key types.NamespacedName) *renderCache {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.byGateway[key]
	if c == nil {
		if m.byGateway == nil {
			m.byGateway = map[types.NamespacedName]*renderCache{}
		}
		c = &renderCache{}
		m.byGateway[key] = c
	}
	return c
}

// forget drops a Gateway's cache.
func (m *renderCaches) forget(key types.NamespacedName) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.byGateway, key)
}

// finalizeConfig renders a translation and encodes it, expecting about size() bytes once it
// is rendered (≤ 0, or a nil size: no estimate).
func finalizeConfig(tr *translate.Result, opts render.Options, size func() int) ([]byte, string, error) {
	cfg, err := render.Config(tr.Gateway, opts)
	if err != nil {
		return nil, "", fmt.Errorf("rendering config: %w", err)
	}
	expected := 0
	if size != nil {
		expected = size()
	}
	data, version, err := kengine.FinalizeSized(cfg, expected)
	if err != nil {
		return nil, "", fmt.Errorf("encoding config: %w", err)
	}
	return data, version, nil
}
