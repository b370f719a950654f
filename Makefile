# make demo : build the ExT5 mixture and pre-train a tiny model on the embedded data (CPU, no network)
# make test : run the test suite (main environment, then the torch-xla environment)
# make test-fast : the inner loop: the main environment's tests without the slow ones
# make lint : ruff and mypy (settings in pyproject.toml)
# Each target creates the virtual environment it needs.

PYTHON  ?= $(shell command -v python3.11 || command -v python3)
VENV    ?= .venv
TVENV   ?= .venv-test
XVENV   ?= .venv-xla
PLUGINS := $(wildcard plugins/*)
TEST_PLUGINS := $(wildcard tests/plugins/*)
PLUGIN_FILES := $(wildcard plugins/*/pyproject.toml) $(wildcard tests/plugins/*/pyproject.toml)
# torch 2.13.0 is the CPU build this machine keeps on disk; other versions fetch a CUDA build.
TORCH   ?= torch==2.13.0
PIP := -m pip install --quiet --disable-pip-version-check

.PHONY: demo test test-main test-fast test-xla lint bench clean venv

demo: $(VENV)/.installed
	$(VENV)/bin/python examples/demo.py --out runs/demo

test: test-main test-xla

test-main: $(TVENV)/.installed
	$(TVENV)/bin/python -m pytest -n 2 --dist loadgroup -q tests

test-fast: $(TVENV)/.installed
	$(TVENV)/bin/python -m pytest -n 2 --dist loadgroup -q -m "not slow" tests

lint: $(TVENV)/.installed
	$(TVENV)/bin/ruff check mixlab tests plugins benchmarks examples scripts
	$(TVENV)/bin/mypy

test-xla: $(XVENV)/.installed
	PJRT_DEVICE=CPU $(XVENV)/bin/python -m pytest -q -m xla -p no:cacheprovider tests/backends/test_xla.py

bench: $(VENV)/.installed
	for b in benchmarks/bench_*.py; do $(VENV)/bin/python $$b || exit 1; done

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml $(PLUGIN_FILES)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python $(PIP) $(TORCH)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e '.[all]' $(addprefix -e ,$(PLUGINS))
	touch $@

$(TVENV)/.installed: pyproject.toml $(PLUGIN_FILES)
	$(PYTHON) -m venv $(TVENV)
	$(TVENV)/bin/python $(PIP) $(TORCH)
	$(TVENV)/bin/python -m pip install --quiet --disable-pip-version-check -e '.[all,dev]' \
		$(addprefix -e ,$(PLUGINS)) $(addprefix -e ,$(TEST_PLUGINS))
	touch $@

# torch-xla 2.9.0 needs torch 2.9.0 exactly: its own environment, CPU through PJRT_DEVICE=CPU.
$(XVENV)/.installed: pyproject.toml $(PLUGIN_FILES)
	$(PYTHON) -m venv $(XVENV)
	$(XVENV)/bin/python -m pip install --quiet --disable-pip-version-check 'torch==2.9.0' 'torch-xla==2.9.0'
	$(XVENV)/bin/python -m pip install --quiet --disable-pip-version-check -e '.[text,data,dev]' 'torch==2.9.0' \
		$(addprefix -e ,$(PLUGINS))
	touch $@

clean:
	rm -rf $(VENV) $(TVENV) $(XVENV) runs .pytest_cache
