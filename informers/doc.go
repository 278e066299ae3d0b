// Package informers owns the shared informers the controller reads from: core kinds and the
// Gateway API kinds the cluster actually serves (discovered at start-up), the indexers that map
// objects to the Gateways they affect, and the event handlers that turn every change into
// Gateway keys on the work queue. Handlers do no I/O and never mutate cached objects.
package informers
