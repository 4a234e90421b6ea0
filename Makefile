# The two commands of the README: `make run` and `make test`. Both set everything up first.
PY := .venv/bin/python

.PHONY: setup run stop test bench

setup:
	@bash scripts/setup.sh

run: setup
	$(PY) -m yunque stack up

stop:
	$(PY) -m yunque stack down

test: setup
	$(PY) -m pytest

bench: setup
	$(PY) -m bench
