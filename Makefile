# Two commands on a fresh clone: `make experiment` (the main job) and `make test` (the test
# suite). Both create .venv first: torch==2.13.0 is installed before anything else, so no
# dependency can pull another torch. The `ray` extra is installed so that the test suite runs
# the Ray executor's test too, the `docs` extra for `make docs`, the `mnist` extra for the
# MNIST-5k tests. Setup ends by compiling the C++ kernels (fused and recurrent; once, 20-60 s
# each, with a progress line), so the first run does not stop for them; without a compiler it
# says so in one line and graphnets uses its torch kernels.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: setup experiment demo test lint format docs bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[dev,ray,docs,mnist]"
	$(VENV)/bin/graphnets build-kernel
	touch $@

# The bundled default experiment (graphnets/experiment/default.toml) into results/experiment;
# rerunning resumes it. Options: `.venv/bin/graphnets experiment --help`.
experiment: setup
	$(VENV)/bin/graphnets experiment --out results/experiment

demo: setup
	$(VENV)/bin/graphnets demo

test: setup
	$(PY) -m pytest -q

# What CI checks besides the tests: lint rules, formatting, and types of the lower layers.
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The documentation site, from docs/ (guides) and the docstrings (API reference), into
# docs/_build/html (open docs/_build/html/index.html). Strict: a warning, a broken link or an
# unresolved reference fails the build.
docs: setup
	$(VENV)/bin/sphinx-build -q -W --keep-going -n -b html docs docs/_build/html
	@echo "docs: open docs/_build/html/index.html"

bench: setup
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis docs/_build
