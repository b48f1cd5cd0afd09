# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Python writes its bytecode caches (__pycache__, ignored by git) even where the
# environment says not to (PYTHONDONTWRITEBYTECODE=1 on these machines): else
# every process of a run, each test worker and each server or worker a test
# starts, compiles the project again (the suite's CPU: about 300 s -> 280 s).
export PYTHONDONTWRITEBYTECODE :=

.PHONY: run test setup schema lock messages fuzz lint

# Installs exactly the locked versions, each checked against its hash. The
# lock holds the application's pins (requirements.txt, what the Docker image
# installs) plus the test-only packages.
$(BIN)/.installed: requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.txt
	touch $@

setup: $(BIN)/.installed messages

# The pages' English and Spanish catalogues (locale/*/django.po -> .mo), with
# gettext's msgfmt (Debian: apt-get install gettext).
messages: $(BIN)/.installed
	PYTHON=$(BIN)/python sh deploy/assets.sh messages

# Serve the API, admin and pages on the embedded default (SQLite, in-process
# tasks, offline geocoder) with the Orange County sample data loaded. DEBUG is
# off unless asked for, and a local run asks for it (and so needs no key).
run: setup
	DJANGO_DEBUG=true $(BIN)/python manage.py migrate --noinput
	DJANGO_DEBUG=true $(BIN)/python manage.py load_sample_data
	DJANGO_DEBUG=true $(BIN)/python manage.py runserver $(HOST):$(PORT)

# The whole suite on the configured database (SQLite unless DATABASE_URL is set).
test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The lint check (.flake8 says which checks): unused and undefined names,
# blank lines between definitions, syntax errors.
lint: setup
	$(BIN)/python -m flake8

# Write the OpenAPI schema and fail on any warning.
schema: setup
	DJANGO_DEBUG=true $(BIN)/python manage.py spectacular --fail-on-warn --file /dev/null

# Refresh the lock files from requirements.in and requirements-dev.in, keeping
# the versions already locked where they still fit; `make lock LOCK_ARGS=--upgrade`
# moves everything to the newest versions allowed. Needs PyPI.
UV_VERSION ?= 0.13.9
LOCK_ARGS ?=
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(BIN)/uv pip compile --quiet --generate-hashes --no-header --python-version 3.11 --python-platform linux \
		$(LOCK_ARGS) requirements.in -o requirements.txt
	$(BIN)/uv pip compile --quiet --generate-hashes --no-header --python-version 3.11 --python-platform linux \
		$(LOCK_ARGS) requirements-dev.in -o requirements-dev.txt

# A longer fuzz of the whole API than the suite's (tests/test_fuzz_api.py):
# FUZZ_EXAMPLES cases per operation and mode, FUZZ_SEED to vary, failures in
# FUZZ_REPORT (its shards, spread over the workers, each add theirs; -rP shows
# each shard's counts).
fuzz: setup
	report=$${FUZZ_REPORT:-fuzz-report.txt}; rm -f "$$report"; touch "$$report"; \
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-200} FUZZ_REPORT="$$report" \
		$(BIN)/python -m pytest -p no:cacheprovider tests/test_fuzz_api.py -rP $(PYTEST_ARGS)
