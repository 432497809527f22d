VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# `make run PORT=8080 HOST=0.0.0.0`: set on the command line only, so a shell's own $HOST is ignored.
HOST := 127.0.0.1
PORT := 8000

.PHONY: install run test lint typecheck pytest bench bench-quick schema clean

install: $(STAMP)

# Reinstalls only when the project's dependencies change.
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: install
	$(VENV)/bin/storyline serve --local --host $(HOST) --port $(PORT)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: install
	$(VENV)/bin/mypy

pytest: install
	$(VENV)/bin/pytest

test: lint typecheck pytest

bench: install
	$(PY) -m bench

bench-quick: install
	$(PY) -m bench --quick

schema: install
	$(VENV)/bin/storyline schema export

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
