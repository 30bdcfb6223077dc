# SonarLab — `make run` (the main job) and `make test` (the tests with a coverage table) install what they need.
SHELL := /bin/bash
SWIFT ?= swift
TOOLCHAIN_BIN := $(dir $(realpath $(shell command -v $(SWIFT))))
LLVM_COV := $(TOOLCHAIN_BIN)llvm-cov
COVERAGE_MIN ?= 85
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 15
RELEASE_BIN := .build/release/sonarlab

.PHONY: help deps build run test coverage bench lint clean e2e-hbase dev-hbase bench-hbase bench-serve bench-sweep delivery-lint dvc-check delivery-check \
	fuzz fuzz-smoke

help: ## List the targets.
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 12

deps: ## Install the missing Debian packages (libncurses-dev, libsqlite3-dev, tmux, python3).
	@scripts/install-deps.sh

build: deps ## Build sonarlab in release.
	$(SWIFT) build -c release --product sonarlab

run: build ## Build and run the main job (dashboard on a terminal, headless training otherwise).
	$(RELEASE_BIN)

test: deps ## Build, run every test suite and the HBase end to end, print line coverage per module (fails below COVERAGE_MIN %).
	@scripts/install-deps.sh --python serve
	$(SWIFT) build --build-tests --enable-code-coverage
	SWIFT=$(SWIFT) scripts/run-tests.sh --enable-code-coverage
	scripts/e2e-hbase.sh
	@$(MAKE) --no-print-directory coverage

coverage: ## Print the line-coverage table of the last `make test`.
	@$(LLVM_COV) export -summary-only .build/debug/SonarLabPackageTests.xctest \
		-instr-profile=.build/debug/codecov/default.profdata | python3 scripts/coverage.py --min $(COVERAGE_MIN)

bench: deps ## Engine vs PyTorch (loop and whole process), 5×10-fold CV time, dashboard frame and event budgets.
	@scripts/install-deps.sh --python bench
	$(SWIFT) build -c release --product sonarlab
	$(SWIFT) build -c release --product sonarlab-bench
	$(SWIFT) build -c release --product dashboard-bench
	.venv/bin/python scripts/bench.py
	.build/release/dashboard-bench
	scripts/dashboard-overhead.sh $(RELEASE_BIN) 2000 3

bench-sweep: deps ## sonarlab sweep --strategy tpe vs Optuna 5.0 TPE + sklearn MLPClassifier: 100 trials, 5x10 CV, 2 jobs (TRIALS=, JOBS=).
	@scripts/install-deps.sh --python bench
	$(SWIFT) build -c release --product sonarlab
	.venv/bin/python scripts/bench_sweep.py

e2e-hbase: ## HBase end to end through dev-hbase (Kerberos, TLS, grants), rows checked with curl --negotiate.
	$(SWIFT) build
	scripts/e2e-hbase.sh

dev-hbase: ## A secured local gateway (KDC, TLS, grants, the double); prints exports: eval "$$(make -s dev-hbase)".
	@$(SWIFT) build --product hbase-rest-double >/dev/null
	@scripts/dev-hbase.sh up

bench-hbase: ## 10,000 prediction rows written and scanned: Swift HBase client vs Python requests.
	scripts/bench-hbase.sh

bench-serve: ## sonarlab serve (record off / local) vs MLServer 1.7.1 + mlserver-sklearn: req/s, p50/p99, RSS (hey).
	scripts/bench-serve.sh

fuzz: ## libFuzzer: build the fuzz targets (--sanitize=fuzzer, .build-fuzz) and run each FUZZ_SECONDS (60); crashes in .fuzz/crashes/.
	scripts/fuzz.sh $(FUZZ_SECONDS)

fuzz-smoke: ## The fuzz smoke .ci/run adds: each fuzz target for FUZZ_SMOKE_SECONDS (15).
	scripts/fuzz.sh $(FUZZ_SMOKE_SECONDS)

lint: ## swift-format lint of Sources, Tests and Fuzz.
	$(SWIFT) format lint -r Sources Tests Fuzz

delivery-lint: ## hadolint, shellcheck, actionlint, docker compose config, detect-secrets, no address/credential literals.
	@scripts/delivery-check.sh lint

dvc-check: ## dvc repro (prepare → train → evaluate) in a temporary copy of the tree, then a push/pull round trip.
	@scripts/delivery-check.sh dvc

delivery-check: ## delivery-lint and dvc-check (what .ci/run adds after make test).
	@scripts/delivery-check.sh all

clean: ## Remove build products and local run records.
	rm -rf .build .build-fuzz .fuzz experiments prepared .sonarlab dist
