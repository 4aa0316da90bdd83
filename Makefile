# Two newcomer commands: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    ?= out

.PHONY: demo test test-fast bench lint docs install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first, pinned: the local CPU build; a bare `torch` would pull the CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	# every extra (pyproject.toml: the core is numpy, Pillow, typer, tqdm, PyYAML; dev = all + tools)
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/avatargen demo -o $(OUT)/avatargen --seed 0 --force
	$(BIN)/spillguard demo -o $(OUT)/spillguard --seed 0 --force
	@echo "HTML reports: $(OUT)/avatargen/report.html and $(OUT)/spillguard/report.html"

# The whole suite on every core (pytest-xdist; `make test PYTEST_WORKERS=0` runs it in one process),
# printing the 15 slowest tests so their cost stays visible. test-fast leaves out what the markers
# (pyproject.toml) call slow: minutes of end-to-end work, a real browser, or ../shared.
PYTEST_WORKERS ?= auto
PYTEST_RUN := $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup --durations=15

test: $(STAMP)
	$(PYTEST_RUN)

test-fast: $(STAMP)
	$(PYTEST_RUN) -m "not slow and not browser and not realdata"

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

# The documentation site -> site/ (mkdocs.yml; reference pages generated from the code at build time).
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) $(OUT) site .pytest_cache .mypy_cache .ruff_cache
