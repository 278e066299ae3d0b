#!/usr/bin/env bash
# build-tools.sh builds the third-party binaries of the local environment into .dev/bin, each from
# its own module under e2e/tools/. A binary is rebuilt only when its module's files, the Go
# version or the build flags changed since it was built (a stamp beside the binary records that),
# so a second run builds nothing.
#
# usage: hack/build-tools.sh [name...]   (default: all of them)
set -euo pipefail

e2e_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dev_dir="${DEV_DIR:-$(cd "${e2e_dir}/.." && pwd)/.dev}"
bin_dir="${dev_dir}/bin"
log_dir="${dev_dir}/logs"
mkdir -p "${bin_dir}" "${log_dir}"

kube_version="v1.37.2"
# The version the Kubernetes binaries report; without it they claim v0.0.0-master.
kube_ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	kube_ldflags+=" -X ${pkg}.gitVersion=${kube_version} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=37"
	kube_ldflags+=" -X ${pkg}.gitTreeState=clean -X ${pkg}.buildDate=1970-01-01T00:00:00Z"
done

# name | module directory under tools/ | package | extra -ldflags
targets=(
	"etcd|etcd|.|"
	"kube-apiserver|kubernetes|k8s.io/kubernetes/cmd/kube-apiserver|${kube_ldflags}"
	"kube-controller-manager|kubernetes|k8s.io/kubernetes/cmd/kube-controller-manager|${kube_ldflags}"
	"kubectl|kubernetes|k8s.io/kubernetes/cmd/kubectl|${kube_ldflags}"
	"echo-basic|echo-basic|sigs.k8s.io/gateway-api/conformance/echo-basic|"
	"kengine|kengine|.|"
	"coredns|coredns|.|"
)

# stamp prints what a binary's build depends on: the module's own files, Go and the flags.
stamp() {
	local module_dir="$1" pkg="$2" ldflags="$3"
	{
		go version
		echo "pkg=${pkg} ldflags=${ldflags} cgo=0"
		(cd "${module_dir}" && find . -maxdepth 1 -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) -print0 |
			sort -z | xargs -0 sha256sum)
	} | sha256sum | cut -d' ' -f1
}

build() {
	local name="$1" module="$2" pkg="$3" ldflags="$4"
	local module_dir="${e2e_dir}/tools/${module}" out="${bin_dir}/${name}"
	local want
	want="$(stamp "${module_dir}" "${pkg}" "${ldflags}")"
	if [[ -x "${out}" && -f "${out}.stamp" && "$(cat "${out}.stamp")" == "${want}" ]]; then
		return 0
	fi
	echo "building ${name} (log: ${log_dir}/build-${name}.log)"
	local start=${SECONDS}
	if ! CGO_ENABLED=0 go build -C "${module_dir}" -trimpath -buildvcs=false \
		-ldflags="-s -w${ldflags}" -o "${out}.tmp" "${pkg}" >"${log_dir}/build-${name}.log" 2>&1; then
		cat "${log_dir}/build-${name}.log" >&2
		echo "build-tools: building ${name} failed" >&2
		return 1
	fi
	mv -f "${out}.tmp" "${out}"
	echo "${want}" >"${out}.stamp"
	echo "built ${name} in $((SECONDS - start))s"
}

wanted=("$@")
for t in "${targets[@]}"; do
	IFS='|' read -r name module pkg ldflags <<<"${t}"
	if [[ ${#wanted[@]} -gt 0 && ! " ${wanted[*]} " == *" ${name} "* ]]; then
		continue
	fi
	build "${name}" "${module}" "${pkg}" "${ldflags}"
done
