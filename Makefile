# schoolstat — two commands do everything on a fresh machine:
#   make run    install what is missing, build, validate Samples/ into out/
#   make test   install what is missing, build, run the test suite

SWIFT ?= swift
DEBIAN_PACKAGES := libcsv-dev libopencc-dev libxml2-dev libxlsxwriter-dev libfreexl-dev libsqlite3-dev libpq-dev libssl-dev pkg-config
# The browser test of `schoolstat serve`: headless Chromium, its WebDriver, Selenium and openpyxl
# (a second reader of the annotated workbook); python-docx (a second reader of the self-evaluation
# draft); PostgreSQL for the export tests (a private cluster made with initdb in a temporary
# directory). All from Debian.
TEST_PACKAGES := chromium chromium-driver python3-selenium python3-openpyxl python3-docx postgresql
# The pictures of the self-evaluation draft: LibreOffice renders it to PDF, poppler to PNG. Never
# needed by `make test`.
SCREENSHOT_PACKAGES := fonts-wqy-microhei libreoffice-writer-nogui poppler-utils
CONFIG ?= release
BIN := .build/$(CONFIG)/schoolstat
# The release build carries the Swift runtime and Foundation in itself: the runtime's functions
# (every change of a reference count among them) are called directly rather than through another
# library's table, and fourteen fewer libraries are loaded at start (docs/performance.md).
BUILD_FLAGS := $(if $(filter release,$(CONFIG)),--static-swift-stdlib)

.PHONY: run test build deps test-deps bench bench-peers clean samples fuzz fuzz-build screenshots serve install uninstall

deps:
	@missing=""; \
	for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "Installing$$missing"; \
		SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

PACKAGES ?= $(DEBIAN_PACKAGES)

test-deps:
	@$(MAKE) --no-print-directory deps PACKAGES="$(DEBIAN_PACKAGES) $(TEST_PACKAGES)"

build: deps
	$(SWIFT) build -c $(CONFIG) $(BUILD_FLAGS)

run: build
	@$(BIN) validate Samples --rules Rules --out out; status=$$?; \
	echo "(exit code $$status: 0 no errors, 1 data errors found, 2 bad arguments, rules or output path, 3 unreadable input, 4 output not written)"; \
	[ $$status -le 1 ]

# check-imports.sh: every module a target imports is declared for it in Package.swift. The
# suite (.ci/run-tests.sh, 45 minutes) and each browser check (10 minutes) run under a time
# ceiling: a test that hangs fails `make test` instead of holding it up.
test: test-deps
	SWIFT=$(SWIFT) bash .ci/check-imports.sh
	$(SWIFT) build --build-tests
	SWIFT=$(SWIFT) bash .ci/run-tests.sh
	timeout --kill-after=30s 10m /usr/bin/python3 Tests/browser/check_page.py .build/debug/schoolstat
	timeout --kill-after=30s 10m /usr/bin/python3 Tests/browser/remote_page.py .build/debug/schoolstat
	timeout --kill-after=30s 10m /usr/bin/python3 Tests/browser/evaluation_report.py .build/debug/schoolstat
	timeout --kill-after=30s 10m /usr/bin/python3 Tests/browser/feedback_index.py .build/debug/schoolstat
	timeout --kill-after=30s 10m /usr/bin/python3 Tests/browser/self_evaluation.py .build/debug/schoolstat

# Installed like any other program: PREFIX/bin/schoolstat finds PREFIX/share/schoolstat/Rules by
# itself (--rules still overrides). SAMPLES=1 installs the sample county too.
PREFIX ?= /usr/local
DESTDIR ?=
install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/schoolstat
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/schoolstat
	rm -rf $(DESTDIR)$(PREFIX)/share/schoolstat/Rules
	cp -R Rules $(DESTDIR)$(PREFIX)/share/schoolstat/Rules
	if [ -n "$(SAMPLES)" ]; then rm -rf $(DESTDIR)$(PREFIX)/share/schoolstat/Samples; cp -R Samples $(DESTDIR)$(PREFIX)/share/schoolstat/Samples; fi
	@echo "installed $(DESTDIR)$(PREFIX)/bin/schoolstat and its rules in $(DESTDIR)$(PREFIX)/share/schoolstat/Rules"

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/schoolstat
	rm -rf $(DESTDIR)$(PREFIX)/share/schoolstat

# The clerk's page on this computer (http://127.0.0.1:8765/).
serve: build
	$(BIN) serve --rules Rules

# The README's pictures, taken by the browser test (needs a Chinese font), and the first pages of
# the self-evaluation draft as LibreOffice lays them out.
screenshots: test-deps
	@$(MAKE) --no-print-directory deps PACKAGES="$(SCREENSHOT_PACKAGES)"
	$(SWIFT) build
	timeout --kill-after=30s 10m /usr/bin/python3 Tests/browser/check_page.py .build/debug/schoolstat --screenshots docs/images
	timeout --kill-after=30s 10m /usr/bin/python3 Tests/browser/evaluation_report.py .build/debug/schoolstat --screenshots docs/images
	timeout --kill-after=30s 10m /usr/bin/python3 Tests/browser/feedback_index.py .build/debug/schoolstat --screenshots docs/images
	sh Tests/browser/render_self_evaluation.sh .build/debug/schoolstat docs/images

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

# libFuzzer targets (Fuzz/README.md): the CSV reader, the workbook reader, the rule language.
# Each runs FUZZ_SECONDS (default 600) from its seed corpus in Fuzz/corpus; what it learns is kept in
# .build-fuzz/corpus, inputs that crash in .build-fuzz/crashes.
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= FuzzCSV FuzzWorkbook FuzzLegacyWorkbook FuzzRules FuzzCheck
FUZZ_FLAGS := -c release --scratch-path .build-fuzz -Xswiftc -sanitize=fuzzer,address

fuzz-build: deps
	for t in $(FUZZ_TARGETS); do SCHOOLSTAT_FUZZ=1 $(SWIFT) build $(FUZZ_FLAGS) --product $$t || exit 1; done

fuzz: fuzz-build
	mkdir -p .build-fuzz/crashes
	for t in $(FUZZ_TARGETS); do \
		case $$t in FuzzCSV) seeds=csv; extra=;; FuzzWorkbook) seeds=xlsx; extra=;; FuzzLegacyWorkbook) seeds=xls; extra=;; FuzzRules) seeds=rules; extra=;; FuzzCheck) seeds=check; extra="Fuzz/corpus/csv Fuzz/corpus/xlsx Fuzz/corpus/xls";; esac; \
		mkdir -p .build-fuzz/corpus/$$seeds; \
		ASAN_OPTIONS=detect_leaks=0 SCHOOLSTAT_RULES=Rules .build-fuzz/release/$$t .build-fuzz/corpus/$$seeds Fuzz/corpus/$$seeds $$extra \
			-max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -timeout=10 -max_len=262144 \
			-artifact_prefix=.build-fuzz/crashes/$$t- || exit 1; \
	done

clean:
	rm -rf .build .build-fuzz out
