// Command standard is Kengine as its own repository builds it: Caddy v2 with the standard
// modules only, without the layer4 app. The integration tests run it to prove that a Gateway
// with TLS, TCP or UDP listeners degrades to its HTTP listeners on such a build.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

func main() {
	caddycmd.Main()
}
