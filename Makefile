# The two commands: `make up` brings up the working system, `make test` runs every test.
.PHONY: setup up down test

setup:
	@bash scripts/setup.sh

up: setup
	@.venv/bin/certnet up

down:
	@.venv/bin/certnet down

test: setup
	@.venv/bin/python -m pytest -q $(PYTEST_ARGS)
