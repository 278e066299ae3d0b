// Package conformance runs the official Gateway API conformance suite
// (sigs.k8s.io/gateway-api/conformance) against the cluster in $KUBECONFIG and writes the
// ConformanceReport we publish. It holds no code of its own beyond the runner: run.sh is the
// entry point (`make conformance` in e2e/ calls it), and conformance_test.go configures the suite.
package conformance
