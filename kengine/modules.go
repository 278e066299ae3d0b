package kengine

import "strings"

// AppLayer4 is the name of the layer4 app module (github.com/mholt/caddy-l4), as a config's
// "apps" key names it; its listener wrapper is "caddy.listeners.layer4".
const AppLayer4 = "layer4"

// RefusesUnknownApp reports whether a pod's refusal of a config (the Admin API's error
// message) means that its build has no module for the app, nor for the listener wrapper of
// the same name. Caddy v2 (Context.LoadModuleByID) answers such a config with "loading new
// config: loading <app> app module: unknown module: <app>", or for the wrapper "... loading
// listener wrapper modules: position 0: loading module '<app>': unknown module:
// caddy.listeners.<app>".
func RefusesUnknownApp(message, app string) bool {
	return strings.Contains(message, "loading "+app+" app module: unknown module: "+app) ||
		strings.Contains(message, "unknown module: caddy.listeners."+app)
}
