# Odonta: `make run` serves the demo, `make test` runs everything CI runs.
SHELL := /bin/bash
PYTHON ?= python3.11
UV_VERSION := 0.13.9
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := .venv
VENV := .venv
PY := $(VENV)/bin/python

# WeasyPrint's libraries and a Cyrillic font; poppler to read PDFs in tests; gettext for i18n.
RUNTIME_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core
TEST_PACKAGES := $(RUNTIME_PACKAGES) poppler-utils gettext chromium postgresql postgresql-contrib redis-server

# What the test suite talks to (override to point elsewhere).
export TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/odonta
export TEST_REDIS_URL ?= redis://127.0.0.1:6379/1


.PHONY: help uv install install-runtime install-test python-deps services run test lint typecheck \
        checks unit browser quickstart messages clean-db

help:
	@echo "make run    install, create the SQLite demo database and serve http://127.0.0.1:8000"
	@echo "make test   install, start PostgreSQL and Redis, run linters, checks and all tests"

uv:
	@if [ "$$($(PYTHON) -m uv --version 2>/dev/null | cut -d' ' -f2)" != "$(UV_VERSION)" ]; then \
		$(PYTHON) -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
			"uv==$(UV_VERSION)"; fi

python-deps: uv
	@$(PYTHON) -m uv sync --frozen --quiet --python $(PYTHON)

install-runtime:
	@scripts/apt-ensure $(RUNTIME_PACKAGES)

install-test:
	@scripts/apt-ensure $(TEST_PACKAGES)

install: install-runtime python-deps

services:
	@scripts/services-up

# `make run AMOCRM=fake` also serves a fake amoCRM account on AMOCRM_FAKE_PORT to connect to.
AMOCRM ?=
AMOCRM_FAKE_PORT ?= 8765

run: install
	@$(PY) manage.py migrate --noinput -v 0
	@$(PY) manage.py seed_demo
	@if [ "$(AMOCRM)" = "fake" ]; then \
		$(PY) manage.py amocrm_fake --port $(AMOCRM_FAKE_PORT) & fake=$$!; \
		trap "kill $$fake 2>/dev/null" EXIT; sleep 1; \
	fi; \
	echo "Odonta is at http://127.0.0.1:8000 (Ctrl+C stops it)"; \
	$(PY) manage.py runserver 127.0.0.1:8000

lint: python-deps
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .

typecheck: python-deps
	@$(VENV)/bin/mypy .

checks: python-deps
	@$(PY) manage.py makemigrations --check --dry-run
	@DJANGO_ENV=production SECRET_KEY=check-deploy-$$RANDOM-$$RANDOM-$$RANDOM-$$RANDOM-$$RANDOM-long-enough \
		ALLOWED_HOSTS=clinic.example DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
		ODONTA_FERNET_KEYS=$$($(PY) -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())") \
		ODONTA_AUDIT_KEYS=check:$$($(PY) -c "import secrets; print(secrets.token_urlsafe(32))") \
		ODONTA_AUDIT_ANCHOR_PATH=/var/lib/odonta/audit-anchors.jsonl \
		$(PY) manage.py check --deploy --fail-level WARNING

unit: install-test python-deps services
	@DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
		$(VENV)/bin/pytest -m "not browser and not quickstart"

browser: install-test python-deps services
	@DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
		$(VENV)/bin/pytest -m browser

# The quickstart of `make run` as CI sees it: SQLite (a new file in a temporary directory),
# no Redis (an empty REDIS_URL is unset for the settings), the demo built by migrate and
# seed_demo, then every URL and the front desk's flows (clinic/tests/test_quickstart.py).
quickstart: python-deps
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
		DATABASE_URL="sqlite:///$$tmp/db.sqlite3" REDIS_URL= MEDIA_ROOT="$$tmp/media" \
		ODONTA_QUICKSTART_STAGE=1 $(VENV)/bin/pytest -m quickstart

test: install-test python-deps services lint typecheck checks unit quickstart browser
	@echo "All checks and tests passed."

messages: python-deps
	@$(PY) manage.py makemessages -l ru -l en --ignore=".venv/*" --ignore="static/vendor/*" --no-obsolete
	@$(PY) manage.py makemessages -d djangojs -l ru -l en --ignore=".venv/*" --ignore="static/vendor/*" --no-obsolete
	@$(PY) manage.py compilemessages --ignore=".venv/*" -v 0

clean-db:
	rm -f db.sqlite3 var/audit-anchors.jsonl
