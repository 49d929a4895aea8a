# The platform's front doors. `make help` lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: ## Install system packages and the Python virtualenv (.venv)
	bash scripts/bootstrap.sh

run: install ## Run the whole platform natively (no Docker); Ctrl-C stops it
	PYTHONPATH=scripts .venv/bin/python -m platform_local.run

test: ## Run all tests with the coverage gate, starting everything they need
	bash scripts/test.sh $(ARGS)

lint: install ## ruff lint and format check
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

format: install ## Apply ruff fixes and formatting
	.venv/bin/ruff check --fix . && .venv/bin/ruff format .

bench: install ## Ingestion benchmark (prints alerts/s and latency)
	.venv/bin/python bench/ingest

up: ## docker compose up -d (needs a Docker engine)
	docker compose up -d

down: ## docker compose down
	docker compose down

.PHONY: help install run test lint format bench up down
