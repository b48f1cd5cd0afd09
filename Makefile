# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test setup schema

$(BIN)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

setup: $(BIN)/.installed

# Serve the API, admin and pages on the embedded default (SQLite, in-process
# tasks, offline geocoder) with the Orange County sample data loaded.
run: setup
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_sample_data
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# The whole suite on the configured database (SQLite unless DATABASE_URL is set).
test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Write the OpenAPI schema and fail on any warning.
schema: setup
	$(BIN)/python manage.py spectacular --fail-on-warn --file /dev/null
