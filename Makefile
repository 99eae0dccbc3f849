# One command for every check: `make check` (lint, types, tests).
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install check lint types test
install:
	python3 -m venv $(VENV) && $(PY) -m pip install -q -e '.[dev]'

lint:
	$(PY) -m ruff check core cli tui tests bench
	$(PY) -m ruff format --check core cli tui tests bench

types:
	$(PY) -m mypy

test:  # behaviour on two workers, then what measures the machine, alone
	$(PY) -m pytest -q -n 2 --dist loadfile -m 'not measures' && $(PY) -m pytest -q -m measures

check: lint types test
