# Two commands do everything on a fresh machine (Python 3.11+):
#   make serve   - install into .venv, load the seed article, serve on http://127.0.0.1:8000
#   make test    - install into .venv, lint, run every test (SQLite and PostgreSQL)
VENV := .venv
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: serve test bench bench-scale lint format clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-* && touch $(STAMP)

serve: $(STAMP)
	$(VENV)/bin/timeline serve --demo

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest

# Benchmarks: SQLite and PostgreSQL, load from wrk and asyncio clients (bench/RESULTS.md).
bench: $(STAMP)
	command -v wrk >/dev/null || { apt-get update -q && apt-get install -y -q wrk; }
	$(VENV)/bin/python -m bench

# The read side at scale: rebuild and queries over a 1,000,000-event log, then
# the same at 100,000 for the 1M/100k ratios (bench/RESULTS.md).
bench-scale: $(STAMP)
	command -v wrk >/dev/null || { apt-get update -q && apt-get install -y -q wrk; }
	$(VENV)/bin/python -m bench --scenarios rebuild,queries --events 1000000
	$(VENV)/bin/python -m bench --scenarios rebuild,queries --events 100000

lint: $(STAMP)
	$(VENV)/bin/ruff check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache .hypothesis
