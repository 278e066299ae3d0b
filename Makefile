# Kengine Gateway. `make help` lists the targets.

SHELL        := /bin/bash
GO           ?= go
# -dirty also for untracked files (git describe --dirty sees only tracked changes).
VERSION      ?= $(shell v=$$(git describe --tags --always --dirty 2>/dev/null || echo dev); \
	if [ -n "$$(git ls-files --others --exclude-standard 2>/dev/null)" ] && [ "$${v%-dirty}" = "$$v" ]; then v=$$v-dirty; fi; echo $$v)
BIN          := bin/kengine-gateway
DEV          := $(CURDIR)/.dev
KENGINE_BIN  := $(DEV)/bin/kengine
STATICCHECK  := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# The release the manifests install (manifests/20-deployment.yaml names the same tag).
RELEASE      := v0.1.0
IMAGE        ?= ghcr.io/khulnasoft/kengine-gateway
IMAGE_TAG    ?= $(RELEASE)

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build the static controller binary to bin/kengine-gateway
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o $(BIN) .

.PHONY: images
images: build ## Write the controller image (static binary, empty base, non-root) to bin/kengine-gateway-image.tar; IMAGE, IMAGE_TAG
	cd e2e/tools/images && $(GO) run . -binary $(CURDIR)/$(BIN) -out $(CURDIR)/bin/kengine-gateway-image.tar \
		-tag $(IMAGE):$(IMAGE_TAG) -version $(VERSION) -revision $$(git rev-parse HEAD) -created $$(git log -1 --format=%ct)

.PHONY: kengine
kengine: $(KENGINE_BIN) ## Build the Kengine-compatible test server (Caddy v2.11.9 + caddy-l4) to .dev/bin/kengine

$(KENGINE_BIN): e2e/tools/kengine/go.mod e2e/tools/kengine/go.sum e2e/tools/kengine/main.go
	cd e2e/tools/kengine && CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" -o $(KENGINE_BIN) .

# Helm is pinned in e2e/tools/helm/go.mod (a go tool directive) and built from the module proxy.
CHART := $(CURDIR)/manifests/chart/kengine-gateway

.PHONY: chart
chart: ## Lint the Helm chart and render it with default values to bin/kengine-gateway-chart.yaml
	@mkdir -p bin
	cd e2e/tools/helm && $(GO) tool helm lint --strict $(CHART)
	cd e2e/tools/helm && $(GO) tool helm template kengine-gateway $(CHART) --namespace kengine-gateway-system > $(CURDIR)/bin/kengine-gateway-chart.yaml

# The fuzz target's oracle is a real Kengine: every config rendered from admissible Gateway API
# objects must be accepted by it. make test fuzzes briefly; make fuzz runs longer.
FUZZ_TARGET := FuzzRenderAcceptedByKengine
FUZZTIME    ?= 10m

.PHONY: test
test: kengine imports ## Unit tests (controller, tools, e2e harness, bench), the render benchmarks once, integration tests against a real Kengine process, a short fuzz run
	$(GO) test -race ./...
	$(GO) test -race -run '^$$' -bench . -benchtime 1x ./controller/ ./controller/render/
	cd e2e/tools/images && $(GO) test -count=1 ./...
	cd e2e/tools/helm && $(GO) test -count=1 ./...
	cd e2e && $(GO) test -race -count=1 ./nodeagent/... ./devenv/... ./internal/... ./cmd/... ./bench/...
	cd e2e/conformance && $(GO) test -count=1 -skip '^TestConformance$$' .
	cd e2e/integration && KENGINE_BIN=$(KENGINE_BIN) $(GO) test -race -count=1 ./...
	cd e2e/integration && KENGINE_BIN=$(KENGINE_BIN) $(GO) test -run '^$$' -fuzz '^$(FUZZ_TARGET)$$' -fuzztime 20s -parallel 2 .

# The stage packages' import rules (README, "How it works"): the IR depends on the standard
# library only, and render on no Kubernetes or Gateway API package.
.PHONY: imports
imports: ## Check the stage packages' import rules (controller/ir: standard library only; controller/render: no Kubernetes)
	@deps=$$($(GO) list -deps -f '{{if not .Standard}}{{.ImportPath}}{{end}}' ./controller/ir | grep -v '^github.com/khulnasoft/gateway/controller/ir$$' || true); \
	if [ -n "$$deps" ]; then echo "controller/ir must depend on the standard library only, not: $$deps"; exit 1; fi
	@deps=$$($(GO) list -deps ./controller/render | grep -E '^(k8s\.io|sigs\.k8s\.io)/' || true); \
	if [ -n "$$deps" ]; then echo "controller/render must not depend on: $$deps"; exit 1; fi
	@echo "import rules hold"

.PHONY: fuzz
fuzz: kengine ## Fuzz translate and render against a real Kengine for FUZZTIME (default 10m); new failures land in e2e/integration/testdata/fuzz
	cd e2e/integration && KENGINE_BIN=$(KENGINE_BIN) $(GO) test -run '^$$' -fuzz '^$(FUZZ_TARGET)$$' -fuzztime $(FUZZTIME) -parallel 2 .

# make bench needs the local environment (make dev) for propagation, burst and controller
# memory, and fails without it; BENCH_FLAGS=-figures=load_floor,render,fanout,data_plane runs the
# figures that need only standalone Kengine processes.
BENCH_FLAGS ?=

.PHONY: bench
bench: kengine bench-render ## Run the micro-benchmarks, then the suite of issue #14 (make dev first; BENCH_FLAGS): e2e/bench/results.json and propagation.svg
	cd e2e && KENGINE_BIN=$(KENGINE_BIN) KUBECONFIG=$${KUBECONFIG:-$(DEV)/kubeconfig} $(GO) run ./bench $(BENCH_FLAGS)

.PHONY: bench-render
bench-render: ## Run the translate+render micro-benchmarks (5,000 HTTPRoutes: first sync, resync, one route changed)
	$(GO) test -run '^$$' -bench . -benchmem ./controller/ ./controller/render/

.PHONY: lint
lint: ## gofmt, go vet and staticcheck (pinned, from the module proxy)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	cd e2e/integration && $(GO) vet ./...
	cd e2e && $(GO) vet ./...

.PHONY: dev
dev: build ## Run a local control plane, Kengine and the controller on this machine (Linux, root)
	$(MAKE) -C e2e dev

.PHONY: dev-down
dev-down: ## Stop everything `make dev` started and remove what it created
	$(MAKE) -C e2e dev-down

.PHONY: e2e
e2e: build ## Run the end-to-end tests on the local environment
	$(MAKE) -C e2e e2e

.PHONY: reliability
reliability: build ## Run the reliability suite on the local environment: route changes, pod and controller kills, a rollout, a 60 s API server outage and an unreachable admin, each under traffic with 0 failed requests
	$(MAKE) -C e2e reliability

.PHONY: conformance
conformance: build ## Run the official Gateway API conformance suite (PROFILES, default GATEWAY-HTTP,GATEWAY-GRPC,GATEWAY-TLS,GATEWAY-TCP,GATEWAY-UDP) on the local environment
	$(MAKE) -C e2e dev
	e2e/conformance/run.sh

.PHONY: clean
clean: ## Remove build outputs (keeps the .dev/ cache of built tools)
	rm -rf bin/
