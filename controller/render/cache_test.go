package render

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/khulnasoft/gateway/controller/ir"
	"github.com/khulnasoft/gateway/kengine"
)

// mapCache is the simplest Cache: it keeps every fragment.
type mapCache struct {
	m          map[string]*Fragment
	hits, miss int
}

func (c *mapCache) Fragment(key []byte) (*Fragment, bool) {
	f, ok := c.m[string(key)]
	if ok {
		c.hits++
	} else {
		c.miss++
	}
	return f, ok
}

func (c *mapCache) StoreFragment(key []byte, f *Fragment) {
	if c.m == nil {
		c.m = map[string]*Fragment{}
	}
	c.m[string(key)] = f
}

// finalized renders gw and returns the bytes the controller would push.
func finalized(t testing.TB, gw *ir.Gateway, opts Options) []byte {
	t.Helper()
	cfg, err := Config(gw, opts)
	if err != nil {
		t.Fatal(err)
	}
	data, _, err := kengine.Finalize(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestCacheGivesTheSameConfig renders every golden model, and the benchmark's model before and
// after a change to one route, without a cache, with a cold cache and with a warm one (shared
// by every model, as fragments of different Gateways would be if they were), and wants the
// same bytes each time.
func TestCacheGivesTheSameConfig(t *testing.T) {
	var models []string
	err := filepath.WalkDir(goldenRoot, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == "ir.yaml" {
			models = append(models, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	cache := &mapCache{}
	check := func(t *testing.T, gw *ir.Gateway) {
		plain := testOptions()
		cached := plain
		cached.Cache = cache
		want := finalized(t, gw, plain)
		for _, pass := range []string{"cold", "warm"} {
			if got := finalized(t, gw, cached); !bytes.Equal(got, want) {
				t.Fatalf("%s cache: config differs from the one rendered without a cache", pass)
			}
		}
	}
	for _, path := range models {
		name, _ := filepath.Rel(goldenRoot, filepath.Dir(path))
		t.Run(filepath.ToSlash(name), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var gw ir.Gateway
			if err := yaml.UnmarshalStrict(data, &gw); err != nil {
				t.Fatal(err)
			}
			check(t, &gw)
		})
	}
	t.Run("benchmark model, one route changed", func(t *testing.T) {
		gw := benchGateway()
		check(t, gw)
		vh := gw.HTTP[0].Listeners[0].VirtualHosts[7]
		changed := *vh.Routes[1]
		changed.Backends = slices.Clone(changed.Backends)
		changed.Backends[0].Endpoints = []string{"10.9.9.9:8080"}
		vh.Routes[1] = &changed
		hits := cache.hits
		check(t, gw)
		if cache.hits == hits {
			t.Error("the unchanged virtual hosts were not found in the cache")
		}
	})
	if cache.hits == 0 || cache.miss == 0 {
		t.Errorf("%d hits and %d misses: the test does not exercise the cache", cache.hits, cache.miss)
	}
}

// TestVirtualHostKeyCoversEveryField sets every field of a model route, then clears them one
// at a time (and turns every list from empty to nil): each change must change the key. A field
// added to the model and not to the key fails here, before a cache could hand out a fragment
// rendered for another route.
func TestVirtualHostKeyCoversEveryField(t *testing.T) {
	key := func(rt *ir.HTTPRoute) string {
		return string(appendVirtualHostKey(nil, testOptions(), &ir.VirtualHost{Routes: []*ir.HTTPRoute{rt}}))
	}
	full := func() *ir.HTTPRoute {
		rt := &ir.HTTPRoute{}
		fill(reflect.ValueOf(rt).Elem())
		return rt
	}
	base := key(full())
	paths := leafPaths(reflect.TypeOf(ir.HTTPRoute{}), nil)
	if len(paths) < 40 {
		t.Fatalf("only %d fields found in a model route", len(paths))
	}
	for _, p := range paths {
		rt := full()
		v := reflect.ValueOf(rt).Elem()
		for _, step := range p.steps {
			v = step(v)
		}
		v.Set(reflect.Zero(v.Type()))
		if key(rt) == base {
			t.Errorf("clearing %s does not change the key", p.name)
		}
		if v.Kind() == reflect.Slice {
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
			if key(rt) == base {
				t.Errorf("emptying %s does not change the key", p.name)
			}
			empty := key(rt)
			v.Set(reflect.Zero(v.Type()))
			if key(rt) == empty {
				t.Errorf("%s: nil and empty give the same key", p.name)
			}
		}
	}
	opts := testOptions()
	for name, change := range map[string]func(*Options){
		"HealthPort": func(o *Options) { o.HealthPort++ },
		"ListenHost": func(o *Options) { o.ListenHost = "127.0.0.1" },
	} {
		changed := opts
		change(&changed)
		vh := &ir.VirtualHost{Routes: []*ir.HTTPRoute{full()}}
		if bytes.Equal(appendVirtualHostKey(nil, opts, vh), appendVirtualHostKey(nil, changed, vh)) {
			t.Errorf("changing option %s does not change the key", name)
		}
	}
}

// TestOptionsTheKeyKnows lists the options; a new one must be added to the virtual host key
// when rendering routes reads it, and to this list either way.
func TestOptionsTheKeyKnows(t *testing.T) {
	var names []string
	for f := range reflect.TypeFor[Options]().Fields() {
		names = append(names, f.Name)
	}
	// ShutdownDelay is read by the http app only, never by route rendering.
	if want := []string{"Admin", "PKI", "ListenHost", "HealthPort", "ShutdownDelay", "Cache"}; !slices.Equal(names, want) {
		t.Errorf("Options fields are %v, want %v: does the virtual host key need the new one?", names, want)
	}
}

// fieldPath reaches one leaf field of a model route that fill set.
type fieldPath struct {
	name  string
	steps []func(reflect.Value) reflect.Value
}

// leafPaths lists the leaves of t: strings, numbers, booleans and lists (themselves, and the
// leaves of their first element), through pointers.
func leafPaths(t reflect.Type, prefix []string) []fieldPath {
	var out []fieldPath
	for i := range t.NumField() {
		f := t.Field(i)
		name := append(slices.Clone(prefix), f.Name)
		index := i
		field := func(v reflect.Value) reflect.Value { return v.Field(index) }
		ft := f.Type
		var inner []func(reflect.Value) reflect.Value
		switch ft.Kind() {
		case reflect.Pointer:
			inner = append(inner, func(v reflect.Value) reflect.Value { return v.Elem() })
			ft = ft.Elem()
			out = append(out, fieldPath{name: strings.Join(name, "."), steps: []func(reflect.Value) reflect.Value{field}})
		case reflect.Slice:
			out = append(out, fieldPath{name: strings.Join(name, "."), steps: []func(reflect.Value) reflect.Value{field}})
			inner = append(inner, func(v reflect.Value) reflect.Value { return v.Index(0) })
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct {
			for _, sub := range leafPaths(ft, name) {
				steps := append([]func(reflect.Value) reflect.Value{field}, inner...)
				out = append(out, fieldPath{name: sub.name, steps: append(steps, sub.steps...)})
			}
			continue
		}
		if ft.Kind() != f.Type.Kind() {
			steps := append([]func(reflect.Value) reflect.Value{field}, inner...)
			out = append(out, fieldPath{name: strings.Join(name, ".") + "[0]", steps: steps})
			continue
		}
		if ft.Kind() != reflect.Pointer && ft.Kind() != reflect.Slice {
			out = append(out, fieldPath{name: strings.Join(name, "."), steps: []func(reflect.Value) reflect.Value{field}})
		}
	}
	return out
}

// fill sets every field of v: strings to "x", numbers to 1, booleans to true, pointers to a
// filled value and lists to one filled element.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.Struct:
		for i := range v.NumField() {
			fill(v.Field(i))
		}
	default:
		panic("fill: unexpected kind " + v.Kind().String())
	}
}
