// Package kengine owns everything the controller knows about Kengine, the Caddy v2 distribution
// that serves a Gateway's traffic: typed Go structs for the JSON config the controller renders
// (apps http, tls, layer4 and pki, plus the admin block), the version marker that lets a pod say
// which config it runs, and the Admin API client that pushes a config to many pods at once.
//
// The package never logs; it returns errors. Config bodies and private keys must not reach logs,
// so the types that carry keys redact them when formatted.
package kengine
