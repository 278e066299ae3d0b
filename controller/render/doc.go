// Package render turns one Gateway's ir.Gateway into the complete Kengine config its pods run:
// the http app for HTTP servers, the layer4 app for TLS, TCP and UDP servers, and the tls app
// for their certificates. It is pure and deterministic and knows nothing of the Gateway API.
package render
