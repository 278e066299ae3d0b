package kengine

import "strings"

// AppLayer4 is the name of the layer4 app module (github.com/mholt/caddy-l4), as a config's
// "apps" key names it.
const AppLayer4 = "layer4"

// RefusesUnknownApp reports whether a pod's refusal of a config (the Admin API's error
// message) means that its build has no module for the app: Caddy v2 answers such a config
// with "loading new config: loading <app> app module: unknown module: <app>"
// (Context.App, through Context.LoadModuleByID).
func RefusesUnknownApp(message, app string) bool {
	return strings.Contains(message, "loading "+app+" app module: unknown module: "+app)
}
