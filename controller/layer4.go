package controller

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/khulnasoft/gateway/kengine"
)

// A Kengine build may lack the layer4 app (github.com/mholt/caddy-l4), which TLS, TCP and UDP
// listeners need. Such a pod refuses the whole config, with Caddy's error for an app module it
// does not know. Rather than leave the Gateway's HTTP listeners unserved, or bisect the config
// like a tenant's refusal, the controller pushes the config without the layer4 listeners and
// reports each of them Programmed=False (ModuleMissing) with a message naming the module. It
// tries the full config again after exclusionRetry, so an upgraded Kengine is picked up.

// layer4Message is the listener status message for a Gateway whose pod lacks the layer4 app.
func layer4Message(pod, refusal string) string {
	return fmt.Sprintf("Kengine pod %s has no %q app module (github.com/mholt/caddy-l4), which TLS, TCP and UDP listeners need; "+
		"its HTTP listeners are served without them (see the README: a Kengine with layer4). Kengine said: %s", pod, kengine.AppLayer4, refusal)
}

// layer4MissingFor returns why a Gateway's pods lack the layer4 app, while that is still
// believed at now; "" otherwise.
func (m *rejectionMemory) layer4MissingFor(gw types.NamespacedName, now time.Time) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	g := m.byGateway[gw]
	if g == nil || g.noLayer4 == "" {
		return ""
	}
	if !now.Before(g.noLayer4Until) {
		g.noLayer4 = ""
		return ""
	}
	return g.noLayer4
}

// recordLayer4Missing remembers until now+exclusionRetry that a Gateway's pods lack the layer4
// app.
func (m *rejectionMemory) recordLayer4Missing(gw types.NamespacedName, msg string, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	g := m.gateway(gw)
	g.noLayer4, g.noLayer4Until = msg, now.Add(exclusionRetry)
}
