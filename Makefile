# Two commands: `make run` (the demo on http://127.0.0.1:5000) and `make test` (every test).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint worker

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.runtime: $(BIN)/activate pyproject.toml
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.test: $(VENV)/.runtime
	$(BIN)/pip install -q -e '.[test]'
	touch $@

run: $(VENV)/.runtime
	$(BIN)/flask --app wsgi demo --port $${PORT:-5000}

test: $(VENV)/.test
	bash tests/run-suite.sh

lint: $(VENV)/.test
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

# A production-style worker; needs REDIS_URL (and DATABASE_URL, ENCRYPTION_KEY, SECRET_KEY).
worker: $(VENV)/.runtime
	$(BIN)/rq worker --url "$$REDIS_URL" --worker-class webapp.queue.AppWorker \
		--serializer rq.serializers.JSONSerializer --disable-job-desc-logging --with-scheduler default
