# The two commands of the README:
#   make demo   sets up .venv and runs the main job
#   make test   sets up .venv (with test extras) and runs the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export NO_ALBUMENTATIONS_UPDATE := 1
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: demo test setup setup-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch first and pinned: the CPU wheel lies on disk; an unpinned torch pulls a 5 GB CUDA build.
# --no-compile: Python compiles only the modules it imports, on first import, instead of pip compiling every file of
# every package (torch's included): setup took 30-47 s against 81-201 s on the 2-core machine (docs/PERFORMANCE.md).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --no-compile torch==2.13.0
	$(BIN)/pip install --quiet --no-compile -e .
	touch $@

# Browser tests drive Debian's chromium (installed by apt when missing; never a browser download).
$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed scripts/install_browser.sh
	$(BIN)/pip install --quiet --no-compile -e ".[test,ui,notebooks]"
	bash scripts/install_browser.sh
	touch $@

setup: $(VENV)/.installed
setup-test: $(VENV)/.installed-test

demo: setup
	$(BIN)/retinavlm demo

test: setup-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -n 2 --dist loadgroup

clean:
	rm -rf $(VENV) runs .pytest_cache
