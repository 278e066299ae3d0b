// Package status holds what translate concludes about every object it read (the Result) and
// the one writer that puts it into the API: GatewayClass, Gateway and route status, each
// written only where it changed, with one conflict-retry loop, keeping transition times.
package status
