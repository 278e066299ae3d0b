#!/usr/bin/env bash
# Runs the official Gateway API conformance suite against the local environment that `make dev`
# started; `make conformance` (e2e/Makefile) brings that environment up first and then calls this.
# It never starts or stops the environment itself.
#
# Environment (all optional):
#   PROFILES           conformance profiles, comma-separated          (GATEWAY-HTTP,GATEWAY-GRPC,GATEWAY-TLS,GATEWAY-TCP,GATEWAY-UDP)
#   GATEWAY_CLASS      GatewayClass the suite uses                    (kengine)
#   RUN_TEST           run only this test, e.g. HTTPRouteSimpleSameNamespace; writes no report
#                      unless REPORT is set
#   SKIP_TESTS         tests not to run, comma-separated; the report lists them as skipped
#   REPORT             where the ConformanceReport goes               (e2e/conformance/report.yaml)
#   VERSION            implementation version in the report          (git describe --tags --always, -dirty if code changed)
#   DEBUG=1            the suite dumps every request and response
#   VERBOSE=1          go test -v: every log line of every test, not only of failed ones
#   TIMEOUT_OVERRIDES  the suite's timeouts, "Name:seconds;Name:seconds"
#   USABLE_ADDRESSES   addresses GatewayStaticAddresses asks for and must get, comma-separated
#                                                                     (127.0.100.200: the node agent's range reserved for requests)
#   UNUSABLE_ADDRESSES addresses it asks for and must not get         (127.0.99.1: outside the node agent's range)
#   TIMEOUT            go test -timeout                               (60m)
#   GO                 the go command                                 (go)
#
# Exit status: 0 when every test that ran passed, go test's status when one failed or the suite
# could not start, 3 when the local environment is not up.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
dev=$root/.dev
kubectl=$dev/bin/kubectl
export KUBECONFIG=$dev/kubeconfig

if [[ ! -f $KUBECONFIG || ! -x $kubectl ]]; then
	echo "conformance: no local environment ($KUBECONFIG or $kubectl missing); run 'make dev' first" >&2
	exit 3
fi
if ! "$kubectl" get --raw /readyz >/dev/null; then
	echo "conformance: the API server in $KUBECONFIG is not ready; run 'make dev' first" >&2
	exit 3
fi

export GATEWAY_CLASS=${GATEWAY_CLASS:-kengine}
export PROFILES=${PROFILES:-GATEWAY-HTTP,GATEWAY-GRPC,GATEWAY-TLS,GATEWAY-TCP,GATEWAY-UDP}
# The version names the code under test: a previous run's report.yaml does not make it dirty.
if [ -z "${VERSION:-}" ]; then
	VERSION=$(git -C "$root" describe --tags --always 2>/dev/null || echo unknown)
	if ! git -C "$root" diff --quiet HEAD -- . ':(exclude)e2e/conformance/report.yaml' 2>/dev/null ||
		[ -n "$(git -C "$root" ls-files --others --exclude-standard -- . ':(exclude)e2e/conformance/report.yaml' 2>/dev/null)" ]; then
		VERSION="$VERSION-dirty"
	fi
fi
export VERSION
if [[ -z ${RUN_TEST:-} ]]; then
	export REPORT=${REPORT:-$here/report.yaml}
fi

"$kubectl" apply -f "$root/manifests/30-gatewayclass.yaml"
# The suite reads status.supportedFeatures before it waits for anything, so the controller must
# have accepted the class (and published its features) by the time the test starts.
"$kubectl" wait --for=condition=Accepted --timeout=120s "gatewayclass/$GATEWAY_CLASS"
features=$("$kubectl" get "gatewayclass/$GATEWAY_CLASS" -o jsonpath='{.status.supportedFeatures[*].name}')
echo "conformance: GatewayClass $GATEWAY_CLASS supports: ${features:-(none)}"

flags=(-count=1 -timeout "${TIMEOUT:-60m}" -run '^TestConformance$')
if [[ ${VERBOSE:-0} == 1 ]]; then
	flags+=(-v)
fi
echo "conformance: version $VERSION, profiles $PROFILES${RUN_TEST:+, only $RUN_TEST}${SKIP_TESTS:+, skipping $SKIP_TESTS}"
# No package argument: in local directory mode go test streams the per-test progress lines.
cd "$here"
exec "${GO:-go}" test "${flags[@]}"
