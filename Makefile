# Everything runs from a virtualenv in .venv, made on first use from pyproject.toml.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: setup tour test lint bench bench-mcp clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

setup: $(STAMP)

tour: setup  ## gpumod's main job, on a throwaway log
	bash scripts/tour.sh

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy gpumod tests scripts benchmarks
	$(PY) scripts/check_licences.py

test: lint  ## the whole suite: lint, types, licences, tests
	$(PY) -m pytest

bench: setup
	$(PY) benchmarks/bench_log.py
	$(PY) benchmarks/bench_switch.py
	$(PY) benchmarks/bench_detection.py
	$(PY) benchmarks/bench_status.py

bench-mcp: setup  ## idle memory and call latency of `gpumod mcp` on a 1,000,000-event log
	$(PY) benchmarks/bench_mcp.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
