# Two entry points for a fresh machine: `make quickstart` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.manyheads-installed
EXTRAS ?= crawl,text,export,serve,compress,monitor,search,dev

.PHONY: quickstart test lint typecheck install clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip==26.3
	# torch first, exactly: any other spec pulls CUDA wheels (../shared/DEPENDENCIES.md).
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -c constraints.txt -e '.[$(EXTRAS)]'
	touch $(STAMP)

install: $(STAMP)

quickstart: $(STAMP)
	$(VENV)/bin/manyheads quickstart

# Prints the suite's wall time last (docs/benchmarks.md, "Test suite time"); keeps pytest's exit code.
test: $(STAMP)
	@start=$$(date +%s); $(VENV)/bin/python -m pytest; rc=$$?; \
	echo "make test: $$(( $$(date +%s) - start )) s"; exit $$rc

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
