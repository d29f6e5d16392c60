# The two commands: `make assess` and `make test`. Both create .venv and install what they need.
VENV    ?= .venv
PYTHON  ?= python3
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

.PHONY: assess test bench install clean

assess: $(STAMP)  ## run one assessment on the bundled offline snapshot
	$(BIN)/joshua assess $(ARGS)

test: $(STAMP)  ## run the whole test suite (pytest exit code 5, "no tests ran", fails too)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)  ## speed and memory figures: risk-engine micro-benchmarks, whole assessments, 12 at once on a worker
	$(BIN)/python -m pytest benchmarks --benchmark-only -p no:cacheprovider --benchmark-columns=min,median,mean,rounds
	$(BIN)/python benchmarks/claude_cost.py
	$(BIN)/python benchmarks/run_assessment.py
	JOSHUA_CONCURRENT_RUNS=12 $(BIN)/python -m pytest tests/test_deployments.py -k concurrent -s -q -p no:cacheprovider

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

clean:  ## remove runtime output (lake, reports, cache, catalog); keeps .venv
	rm -rf data/lake data/staging data/cache data/reports data/joshua.duckdb
