# The two commands: `make assess` and `make test`. Both create .venv and install what they need.
VENV    ?= .venv
PYTHON  ?= python3
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

.PHONY: assess stop test bench eval install lock clean

# The first `make assess` starts Prefect's server in the background (API and UI on
# http://127.0.0.1:4200, or another free port) and leaves it running so later runs skip its
# start-up; `make stop` ends it.
assess: $(STAMP)  ## run one assessment on the bundled offline snapshot
	$(BIN)/joshua assess --background-server $(ARGS)

stop: $(STAMP)  ## stop the Prefect server that `make assess` left running
	$(BIN)/joshua server stop

test: $(STAMP)  ## run the whole test suite (pytest exit code 5, "no tests ran", fails too)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)  ## speed and memory figures: risk-engine micro-benchmarks, whole assessments, 12 at once on a worker, a year of runs, 10 years of history, two workers on PostgreSQL
	$(BIN)/python -m pytest benchmarks --benchmark-only -p no:cacheprovider --benchmark-columns=min,median,mean,rounds
	$(BIN)/python benchmarks/claude_cost.py
	$(BIN)/python benchmarks/run_assessment.py
	$(BIN)/python benchmarks/footprint.py
	$(BIN)/python benchmarks/second_run.py
	$(BIN)/python benchmarks/year_of_runs.py
	$(BIN)/python benchmarks/history_queries.py
	JOSHUA_CONCURRENT_RUNS=12 $(BIN)/python -m pytest tests/test_deployments.py -k concurrent -s -q -p no:cacheprovider
	$(BIN)/python -m pytest tests/test_distributed.py -s -q -p no:cacheprovider

eval: $(STAMP)  ## relevance and category tags against the labelled sets in tests/data/ (see its README); the clock against the Bulletin
	$(BIN)/python benchmarks/calibration.py
	$(BIN)/python benchmarks/relevance_eval.py
	$(BIN)/python benchmarks/relevance_eval.py --set tests/data/relevance_holdout.tsv

install: $(STAMP)

# Dependencies come from the hash-pinned lock only; the project itself is installed without them.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

lock:  ## re-pin requirements.lock (with hashes) after changing the dependencies in pyproject.toml
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements.lock

clean:  ## remove runtime output (lake, reports, cache, catalog); keeps .venv
	rm -rf data/lake data/staging data/cache data/reports data/joshua.duckdb
