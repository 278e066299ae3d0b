// Package controller reconciles Gateway API objects into Kengine configuration. It accepts
// GatewayClasses whose controllerName is ours and runs one Gateway-keyed sync loop:
// snapshot (from listers) → translate (pure; model + status) → render (pure; Kengine JSON) →
// push (to every Kengine pod of the Gateway) → status (written only where it changed).
package controller
