# `make run` and `make test` set up .venv themselves; nothing needs installing by hand.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SCENARIO ?= scenarios/demo_park.toml
ARGS ?=

.PHONY: run test test-all bench bench-tricks bench-sweep clean

run: $(STAMP)
	$(VENV)/bin/symbiosis run $(SCENARIO) $(ARGS)

test: $(STAMP)
	$(PY) -m pytest -q

test-all: $(STAMP)
	$(PY) -m pytest -q -m ""

bench: $(STAMP)
	$(PY) benchmarks/bench_model.py

bench-tricks: $(STAMP)
	$(PY) benchmarks/bench_tricks.py --sizes 50,10000 --repeat 3

bench-sweep: $(STAMP)
	$(PY) benchmarks/bench_sweep.py

$(STAMP): pyproject.toml
	@PYTHON=$$(sh scripts/find_python.sh) || exit 1; \
	echo "Creating $(VENV) with $$PYTHON"; \
	"$$PYTHON" -m venv $(VENV) && \
	$(PY) -m pip install --quiet --upgrade pip && \
	$(PY) -m pip install --quiet -e '.[test]' && \
	touch $(STAMP)

clean:
	rm -rf $(VENV) results/*/
