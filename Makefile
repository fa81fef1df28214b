# The README's two commands: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-fast venv venv-dev requirements services browser lint bench bench-dashboard bench-statuspage clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

venv: $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt

venv-dev: $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt

# Every package pinned, pip and setuptools included (pip-tools needs them);
# extras stripped so requirements.txt also works as a constraints file.
PIP_COMPILE := CUSTOM_COMPILE_COMMAND="make requirements" $(BIN)/pip-compile \
	--quiet --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links \
	$(UPGRADE)

## Re-pin requirements.txt and requirements-dev.txt after editing the .in files
## (existing pins are kept; UPGRADE="--upgrade-package NAME" moves one)
requirements: venv-dev
	$(PIP_COMPILE) --output-file requirements.txt requirements.in
	$(PIP_COMPILE) --output-file requirements-dev.txt requirements-dev.in

services:
	@bash scripts/ensure-services.sh

browser:
	@bash scripts/ensure-chromium.sh

# pytest over tests/ with extra arguments; a run that collects no tests
# (exit 5) fails, so a broken selection is never mistaken for green.
define pytest_nonempty
$(BIN)/python -m pytest tests -p no:cacheprovider $(1); status=$$?; \
if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; \
exit $$status
endef

## Set up and run web, beat, the alert worker and the check workers (local
## PostgreSQL database uptime_dev, local Redis, one "local" region) on
## http://127.0.0.1:8000. honcho is a development requirement. PostgreSQL
## and Redis are left running when it stops (scripts/run.sh says so).
run: venv-dev services
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py create_database
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py migrate --noinput
	DEBUG=$${DEBUG:-true} PATH=$(CURDIR)/$(BIN):$$PATH bash scripts/run.sh

## Lint, format check and the whole test suite against real PostgreSQL and Redis
test: venv-dev services browser lint
	$(call pytest_nonempty,)

## The inner loop: every test but the browser ones and those starting worker
## processes (markers browser and e2e); no lint
test-fast: venv-dev services
	$(call pytest_nonempty,-m "not e2e and not browser")

## ruff (lint, format check), then mypy (configured in pyproject.toml; needs
## no database: the Django plugin only imports the test settings)
lint: venv-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## The whole box under load: N monitors, every Procfile process, its own
## database and Redis db; BENCH_ARGS="--monitors 10000 --interval 30" etc.
bench: venv-dev services
	$(BIN)/python bench/run.py $(BENCH_ARGS)

## Dashboard server time with 1,000 monitors and 10 M ticks (own database)
bench-dashboard: venv-dev services
	$(BIN)/python bench/dashboard.py

bench-statuspage: venv-dev services
	$(BIN)/python bench/statuspage.py

clean:
	rm -rf $(VENV) staticfiles
