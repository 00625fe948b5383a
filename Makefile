# Two commands do everything on a fresh machine:
#   make run    set up, fetch and verify the default model, ingest the demo reports, serve the app
#   make test   set up, fetch the tiny test model, run the test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ASSISTANT := $(VENV)/bin/assistant
HOME_DIR ?= data
# Portable llama.cpp build (AVX2, no AVX-512): a native build crashes Intel CPUs with AMX here
# (SIGILL), an AVX-512 build crashes the AMD EPYC machines without AVX-512. The wheel is built
# once per machine into a cache folder named by version and flags, and installed from there.
LLAMA_VERSION := 0.3.36
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF
LLAMA_WHEELS := $(HOME)/.cache/orosanmalan/llama-wheels/avx2-$(LLAMA_VERSION)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False

.PHONY: setup run test lint eval bench model test-model browser fonts clean

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	ls $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1 || \
		CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip wheel --quiet --no-deps --no-cache-dir \
		-w $(LLAMA_WHEELS) llama-cpp-python==$(LLAMA_VERSION)
	$(PY) -m pip install --quiet --find-links $(LLAMA_WHEELS) -r requirements.txt -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

setup: $(VENV)/.installed

model: setup
	$(ASSISTANT) models fetch qwen2.5-coder-1.5b-instruct-q4

test-model: setup
	$(ASSISTANT) models fetch smollm2-135m-instruct-q4

fonts:
	test -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-dejavu-core >/dev/null)

browser:
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

run: model fonts
	test -f $(HOME_DIR)/access.sqlite3 || $(ASSISTANT) --home $(HOME_DIR) ingest data/demo  # first run, before any user
	$(ASSISTANT) --home $(HOME_DIR) users init
	$(ASSISTANT) --home $(HOME_DIR) ui

test: test-model browser fonts
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check .

eval: model
	$(ASSISTANT) eval run eval/suites/full.yaml --out eval/out/full

# Benchmarks on this machine: writes bench/results.json and bench/results.md (see bench/run.py; --quick for development).
bench: model
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache
