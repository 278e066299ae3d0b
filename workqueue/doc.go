// Package workqueue owns the controller's hand-written, generic work queue: it deduplicates keys,
// never hands one key to two workers at once, delays and rate-limits retries, drains on shutdown
// and reports metrics through a small provider interface. It uses the standard library only.
package workqueue
