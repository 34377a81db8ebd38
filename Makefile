# Two commands on a fresh clone: `make demo` (the main job) and `make test` (the test suite).
# Both create .venv first: torch==2.13.0 is installed before anything else, so no dependency
# can pull another torch.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: setup demo test bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[dev]"
	touch $@

demo: setup
	$(VENV)/bin/graphnets demo

test: setup
	$(PY) -m pytest -q

bench: setup
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
