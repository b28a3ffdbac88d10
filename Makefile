# `make run` and `make test` set up .venv themselves; nothing needs installing by hand.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SCENARIO ?= scenarios/demo_park.toml
ARGS ?=

.PHONY: run test test-all test-facts notebooks notebooks-run bench bench-figures bench-tricks bench-sweep clean

run: $(STAMP)
	$(VENV)/bin/symbiosis run $(SCENARIO) $(ARGS)

test: $(STAMP)
	$(PY) -m pytest -q

test-all: $(STAMP)
	$(PY) -m pytest -q -m ""

# The stylized facts on three disjoint seed sets of forty (tests/paired.py), then their effect sizes as a table.
FACT_SEEDS ?= 1-40 41-80 81-120
test-facts: $(STAMP)
	@mkdir -p results/facts
	@status=0; for seeds in $(FACT_SEEDS); do \
		echo "stylized facts on seeds $$seeds"; rm -f results/facts/seeds_$$seeds.jsonl; \
		FACTS_SEEDS=$$seeds FACTS_SUMMARY=results/facts/seeds_$$seeds.jsonl $(PY) -m pytest -q tests/test_stylized_facts.py || status=1; \
	done; \
	$(PY) scripts/facts_table.py $(foreach s,$(FACT_SEEDS),results/facts/seeds_$(s).jsonl); exit $$status

# The teaching notebooks in JupyterLab. Optional: installs jupyterlab into .venv the first time (not part of `make test`).
notebooks: $(STAMP)
	@$(PY) -c "import jupyterlab" 2>/dev/null || $(PY) -m pip install --quiet jupyterlab
	$(VENV)/bin/jupyter lab notebooks/

# Execute the notebooks from their .py twins and store them with their outputs (scripts/notebooks.py).
notebooks-run: $(STAMP)
	$(PY) scripts/notebooks.py run

bench: $(STAMP)
	$(PY) benchmarks/bench_model.py
	$(PY) benchmarks/bench_figures.py

bench-figures: $(STAMP)
	$(PY) benchmarks/bench_figures.py

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
