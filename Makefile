# OpenKYC: `make run` installs and serves on the embedded default; `make test` installs and runs every test.
VENV      ?= .venv
PYTHON    ?= python3
PY        := $(VENV)/bin/python
DATA_DIR  ?= openkyc-data
PG_URL    ?= postgresql://postgres@127.0.0.1:5432/test
PYTEST    := $(VENV)/bin/pytest -p no:cacheprovider

.PHONY: install system-deps run test test-sqlite test-postgres lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

system-deps:
	bash scripts/system-deps.sh

run: install
	@test -f $(DATA_DIR)/master.key || $(VENV)/bin/openkyc init --data-dir $(DATA_DIR)
	$(VENV)/bin/openkyc serve --data-dir $(DATA_DIR)

lint: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy

test-sqlite: install
	$(PYTEST) -q

test-postgres: install
	OPENKYC_TEST_DATABASE_URL=$(PG_URL) $(PYTEST) -q -m db

test: install system-deps lint test-sqlite test-postgres

bench: install
	$(PY) benchmarks/bench_faces.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
