// Package integration proves the controller's pipeline against the real thing: it translates
// and renders snapshots, pushes the config to a separate Kengine process through the Admin API
// and sends HTTP(S) requests through it to backends on loopback. It holds tests only; run them
// with KENGINE_BIN pointing at the Kengine test server (make test does).
package integration
