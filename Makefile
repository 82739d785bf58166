# schoolstat — two commands do everything on a fresh machine:
#   make run    install what is missing, build, validate Samples/ into out/
#   make test   install what is missing, build, run the test suite

SWIFT ?= swift
DEBIAN_PACKAGES := libcsv-dev libopencc-dev libxml2-dev pkg-config
CONFIG ?= release
BIN := .build/$(CONFIG)/schoolstat

.PHONY: run test build deps bench bench-peers clean samples

deps:
	@missing=""; \
	for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "Installing$$missing"; \
		SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build -c $(CONFIG)

run: build
	@$(BIN) validate Samples --rules Rules --out out; status=$$?; \
	echo "(exit code $$status: 0 no errors, 1 data errors found, 2 bad arguments, rules or output path, 3 unreadable input, 4 output not written)"; \
	[ $$status -le 1 ]

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

samples:
	python3 Samples/generate.py

# Benchmarks are never part of `make test`. See docs/performance.md.
bench: build
	bash bench/memory.sh
	bash bench/instructions.sh
	bash bench/run.sh

# The same checks in Polars and DuckDB, installed from PyPI into bench/.venv, at the
# versions docs/performance.md was measured with.
bench-peers: build
	[ -x bench/.venv/bin/python ] || python3 -m venv bench/.venv
	bench/.venv/bin/pip install -q polars==2.1.0 duckdb==2.0.0
	bash bench/run.sh --peers

clean:
	rm -rf .build out
