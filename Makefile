# All set-up is in here: `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU build of torch (a bare `torch` requirement can pull a multi-GB CUDA build).
TORCH_SPEC ?= torch==2.13.0

.PHONY: install demo test lint docs bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e ".[dev,openspiel]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/palaestra tournament examples/quickstart.toml --resume

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

docs: install
	$(VENV)/bin/mkdocs build --strict --quiet

test: install lint docs
	$(PY) -m pytest -q

bench: install
	$(PY) benchmarks/env_speed.py

clean:
	rm -rf $(VENV) site .pytest_cache .ruff_cache
