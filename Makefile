# Quick start: `make demo` runs the whole workflow on the embedded demo data, `make test` the whole test suite
# (what CI runs), `make test-fast` the unit tests (no workflow run, no ../shared/mirror), `make lint` the linters.
# Both first build .venv with the pinned dependencies of requirements.txt (once; again when it changes).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
CORES ?= 2

.PHONY: demo test test-fast lint clean

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

demo: $(VENV)/.installed
	$(BIN)/snakemake --cores $(CORES) all
	$(BIN)/snakemake --cores $(CORES) all --report results/report.zip

test: $(VENV)/.installed
	$(BIN)/python -m pytest

test-fast: $(VENV)/.installed
	$(BIN)/python -m pytest -m "not workflow and not mirror" tests/unit tests/test_envs.py tests/test_packaging.py

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile workflow
	$(BIN)/snakemake --lint --cores 1

clean:
	rm -rf results logs benchmarks .snakemake
