# London NHS finance reporting kit. `make help` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

PYTHON_BOOT ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
KIT := $(PY) -m helpers.cli
CODE_DIRS := $(wildcard src tests scripts benchmarks)
TEST_TOOLS := .test-tools
AXE := $(TEST_TOOLS)/node_modules/axe-core/axe.min.js

PERIOD ?=
JOBS ?=
FORCE ?=
SCHEDULER ?=

export OPENBLAS_NUM_THREADS := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1
export JUPYTER_PLATFORM_DIRS := 1

$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(PY) -m helpers.kernels.kernelspec >/dev/null
	@$(MAKE) --no-print-directory notebook-diffs
	@touch $(STAMP)

## Create or refresh the virtual environment from the pinned lock
venv: $(STAMP)

## Re-pin every dependency into requirements.lock (needs network to the package index)
lock: $(STAMP)
	$(PY) -m pip install --quiet uv
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --extra distributed --generate-hashes \
		--python-version 3.11 --python-platform x86_64-unknown-linux-gnu -o requirements.lock

## Make git diff and merge show notebooks as cells (nbdime; make venv does it in a git clone)
notebook-diffs:
	@if git rev-parse --git-dir >/dev/null 2>&1 && test -x $(VENV)/bin/git-nbdiffdriver; then \
		git config diff.jupyternotebook.command "$(CURDIR)/$(VENV)/bin/git-nbdiffdriver diff"; \
		git config merge.jupyternotebook.driver \
			"$(CURDIR)/$(VENV)/bin/git-nbmergedriver merge %O %A %B %L %P"; \
		git config merge.jupyternotebook.name "jupyter notebook merge driver"; \
	fi

## Lint and format-check with ruff, type-check src/ with mypy, check the layers (import-linter)
lint: $(STAMP)
	$(VENV)/bin/ruff check $(CODE_DIRS)
	$(VENV)/bin/ruff format --check $(CODE_DIRS)
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

## Reformat the code with ruff
format: $(STAMP)
	$(VENV)/bin/ruff format $(CODE_DIRS)
	$(VENV)/bin/ruff check --fix $(CODE_DIRS)

## Validate a period's returns without running reports (PERIOD=2011-12-Q1; default: every period)
validate: $(STAMP)
	$(KIT) validate $(if $(PERIOD),--period $(PERIOD),)

## Run every report of every period in params/ (or PERIOD=..., JOBS=n, FORCE=1)
reports: $(STAMP)
	$(KIT) reports $(if $(PERIOD),--period $(PERIOD),) $(if $(JOBS),--jobs $(JOBS),) \
		$(if $(FORCE),--force,) $(if $(SCHEDULER),--scheduler $(SCHEDULER),)

## Watch data/raw, params and notebooks; rerun a period's stale reports when they change
watch: $(STAMP)
	$(KIT) watch $(if $(JOBS),--jobs $(JOBS),)

## Write params/<PERIOD>.yaml from the previous period's file (PERIOD=2011-12-Q2)
new-period: $(STAMP)
	$(KIT) new-period --period $(PERIOD)

## Run the whole test suite: lint, types, unit, data, notebook and regression tests
# A pytest run that collects nothing exits 5, and any non-zero exit fails the target: the
# golden notebooks run in a second pytest call (nbval, strict: every stored output compared).
# Both run two at a time (pytest-xdist). loadfile keeps each test file on one worker, so a
# module's fixtures are built once; the workers share one full sample run (tests/conftest.py).
test: lint browser
	$(PY) -m pytest -n 2 --dist loadfile
	$(PY) -m pytest -p no:cacheprovider --nbval tests/golden --nbval-kernel-name nhs-kit \
		--nbval-sanitize-with tests/golden/sanitize.cfg -n 2 --dist loadscope

## Install what the browser test needs: Debian's chromium (apt, as root, as on CI) and axe-core
browser: chromium $(AXE)

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
			echo "Installing Debian's chromium for tests/test_browser.py (apt-get)"; \
			log=$$(mktemp); \
			{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				--no-install-recommends chromium; } >"$$log" 2>&1 \
				|| { tail -n 20 "$$log"; echo "apt-get could not install chromium:" \
					"the browser test will skip (fail on CI)"; }; \
			rm -f "$$log"; \
		else \
			echo "No chromium and no apt-get as root: the browser test will skip (fail on CI)"; \
		fi; }

# axe-core, pinned with its integrity in tests/axe/package-lock.json, installed by npm ci into
# .test-tools/ (npm from Debian's package when it is missing and apt is available as root).
$(AXE): tests/axe/package.json tests/axe/package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
		if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
			echo "Installing Debian's npm for the accessibility check (apt-get)"; \
			{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				--no-install-recommends npm; } >/dev/null 2>&1 || true; \
		fi; }
	@if command -v npm >/dev/null 2>&1; then \
		mkdir -p $(TEST_TOOLS) && cp tests/axe/package.json tests/axe/package-lock.json $(TEST_TOOLS)/ \
		&& npm ci --prefix $(TEST_TOOLS) --ignore-scripts --no-audit --no-fund --loglevel=error \
		&& touch $(AXE) \
		|| echo "npm could not install axe-core: the accessibility check will skip (fail on CI)"; \
	else \
		echo "No npm: the accessibility check will skip (fail on CI)"; \
	fi

## Regenerate tests/golden/ and tests/backtest/ (only this writes them; review the diff)
golden: $(STAMP)
	$(PY) -m kit_dev.golden

## Benchmark the kit against a papermill + nbconvert shell loop, then Dask against the local pool
bench: $(STAMP)
	$(PY) benchmarks/bench.py
	$(PY) benchmarks/dask_throughput.py

## Regenerate the illustrative sample returns under data/raw/ (deterministic)
sample: $(STAMP)
	$(PY) scripts/make_sample.py

## Start JupyterLab on 127.0.0.1 with the project's kernel, in notebooks/
lab: $(STAMP)
	$(VENV)/bin/jupyter lab --config=jupyter_lab_config.py

## Remove outputs, processed data and caches (keeps the virtual environment)
clean:
	find outputs -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
	rm -rf data/processed .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -not -path './$(VENV)/*' -exec rm -rf {} +

## Remove the virtual environment too
distclean: clean
	rm -rf $(VENV)

## List the targets
help:
	@awk '/^## /{doc=substr($$0,4); next} /^[a-zA-Z_-]+:/{if(doc){split($$1,t,":"); printf "  \033[36m%-12s\033[0m %s\n", t[1], doc}; doc=""}' $(MAKEFILE_LIST)

.PHONY: venv notebook-diffs lock lint format validate reports watch new-period test browser chromium golden bench sample lab clean distclean help
