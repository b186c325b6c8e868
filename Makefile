# Two commands do all the set-up on a fresh machine:
#   make demo   - create .venv, install pinned torch + samdistill, run the embedded demo
#   make test   - same set-up, then run the test suite
# Another torch: TORCH_SPEC="torch==2.5.1" make demo (any pip requirement). The default pin is a CUDA build
# on PyPI and the CPU build only where pip sees a local CPU wheel; CPU-only from PyTorch's index: README, Install.
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
PY := $(VENV)/bin/python
DEMO_ARGS ?=

.PHONY: install demo demo-quick test clean

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[test]" "$(TORCH_SPEC)"
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/samdistill demo $(DEMO_ARGS)

demo-quick: install
	$(VENV)/bin/samdistill demo --quick $(DEMO_ARGS)

test: install
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -rs -n 2 --durations=15

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
