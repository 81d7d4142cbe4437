# OpenKYC: `make run` installs the runtime dependencies and serves on the embedded default;
# `make test` installs with the test extras and runs every test.
VENV      ?= .venv
PYTHON    ?= python3
PY        := $(VENV)/bin/python
DATA_DIR  ?= openkyc-data
PG_URL    ?= postgresql://postgres@127.0.0.1:5432/test
PYTEST    := $(VENV)/bin/pytest -p no:cacheprovider

.PHONY: install system-deps run test test-sqlite test-postgres lint bench clean

# The runtime dependencies only (what `make run` needs).
$(VENV)/.runtime: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

# With the test extras (linters, browser tests, the dlib embedder): `make test`, `make lint`.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	# Tencent's mainland SDK shares the `tencentcloud` package name with the international one (a
	# test dependency): kept apart, for tests/tencent's subprocess that drives it
	$(PY) -m pip install --quiet --no-deps --target $(VENV)/tencent-mainland \
		'tencentcloud-sdk-python-common==3.1.195' 'tencentcloud-sdk-python-faceid==3.1.179' \
		'tencentcloud-sdk-python-ocr==3.1.193'
	touch $@ $(VENV)/.runtime

install: $(VENV)/.installed node_modules/axe-core/axe.min.js

# axe-core (npm) for the accessibility checks of the browser tests; never served to end users
node_modules/axe-core/axe.min.js:
	@command -v npm >/dev/null || { echo "npm not found: the axe-core accessibility checks will be skipped" >&2; exit 0; }; \
		npm install --no-save --no-package-lock --silent axe-core@4.14.1

system-deps:
	bash scripts/system-deps.sh

# Initialised means "an account exists" (asked of the database), not "a key file exists": `serve`
# creates the key file itself. The first run prints the credential; `serve` prints where it listens.
run: $(VENV)/.runtime
	@$(VENV)/bin/openkyc init --data-dir $(DATA_DIR) --if-missing
	@$(VENV)/bin/openkyc serve --data-dir $(DATA_DIR)

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
