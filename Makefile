# The two commands: `make run` (embedded: SQLite, in-process tasks, e-mail to var/mail/)
# and `make test` (PostgreSQL on 127.0.0.1:5432, Redis on 127.0.0.1:6379).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# Django 6 needs Python >= 3.12: take the first interpreter on this machine that qualifies.
PYTHON ?= $(shell for p in python3.14 python3.13 python3.12 python3 \
	$$HOME/.pyenv/versions/3.14*/bin/python3 $$HOME/.pyenv/versions/3.13*/bin/python3 \
	$$HOME/.pyenv/versions/3.12*/bin/python3; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 && { echo $$p; break; }; \
	done)
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/portal
TEST_BROKER_URL ?= redis://127.0.0.1:6379/15
# The suite runs in parallel processes (pytest-xdist), one per core by default.
TEST_WORKERS ?= auto
DEMO_PROCESSES ?= 2000

.PHONY: run test lint format bench install migrate seed clean messages browser redis-binary

$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python >= 3.12 is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
		print("\n".join(p["dependencies"] + p["optional-dependencies"]["dev"]))' > $(VENV)/requirements.txt
	$(PY) -m pip install --quiet -r $(VENV)/requirements.txt
	touch $@

install: $(VENV)/.installed

migrate: install
	mkdir -p var/mail
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_reference_data

seed: migrate
	$(PY) manage.py seed_demo --processes $(DEMO_PROCESSES) --if-empty
	$(PY) manage.py build_open_data --if-missing

# The periodic tasks run too: one Celery worker with embedded beat on kombu's filesystem
# transport (messages are files in var/celery/, no server), stopped with the web server.
# RUN_BROKER= (empty) runs tasks in-process instead, with no periodic tasks.
RUN_BROKER ?= filesystem://
run: seed
	@mkdir -p var/celery
	@if [ -n "$(RUN_BROKER)" ]; then \
		CELERY_BROKER_URL=$(RUN_BROKER) $(VENV)/bin/celery -A config worker --beat --pool=solo \
			-l info --schedule var/celery/beat-schedule >var/celery/worker.log 2>&1 & \
		worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
		echo "Celery worker with beat (pid $$worker), log in var/celery/worker.log"; \
	fi; \
	CELERY_BROKER_URL=$(RUN_BROKER) $(PY) manage.py runserver 127.0.0.1:8000

# The fault tests start their own redis-server (never the shared one): install the binary
# when we can.
redis-binary:
	@command -v redis-server >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server >/dev/null 2>&1 || \
			{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server >/dev/null; }; \
		else echo "redis-server is missing: install Debian's redis-server package (fault tests need it)"; fi; }

# Browser tests drive Debian's Chromium (never a downloaded one): install it when we can.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 || \
			{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }; \
		else echo "chromium is missing: install Debian's chromium package (browser tests need it)"; fi; }

test: install browser redis-binary
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres $(PY) manage.py makemigrations --check --dry-run
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) \
		$(VENV)/bin/pytest --create-db -n $(TEST_WORKERS) --dist loadfile
	# Again on the embedded default (SQLite): the guard rails against 5xx and concurrent writes.
	mkdir -p var
	DATABASE_URL=sqlite:///$(CURDIR)/var/test-sqlite.sqlite3 CELERY_BROKER_URL=$(TEST_BROKER_URL) \
		$(VENV)/bin/pytest --create-db -n $(TEST_WORKERS) --dist loadfile -m urlwalk -p no:cacheprovider

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: install
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) -m bench

clean:
	rm -rf $(VENV) var staticfiles

# Refresh the Spanish catalog after changing UI strings; translate, then run again to compile.
messages: install
	$(PY) manage.py makemessages -l es --ignore=.venv --ignore=tests --ignore=var --no-obsolete
	$(PY) manage.py compilemessages -l es --ignore=.venv
