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

bench: install ## Ingest benchmark, Alertmanager's in-memory ingest side by side (alerts/s, latency, ratio, data check)
	.venv/bin/python bench/ingest

bench-latency: install ## Page latency: alert POST -> page at a real webhook receiver and SMTP server, steady and in a storm
	.venv/bin/python bench/page_latency

bench-storm: install ## 10,000 alerts for one service in 10 s: one incident, one page; dashboard API latency meanwhile
	.venv/bin/python bench/storm

bench-flood: install ## One alert for each of 3,000 services at once: new incidents/s, each assigned and paged once
	.venv/bin/python bench/flood

bench-bigdb: install ## 1,000,000 alerts and 100,000 incidents: p50/p99 of every listed read
	.venv/bin/python bench/bigdb

bench-retention: install ## Ingest p99 with retention removing 500,000 old alerts meanwhile, and without
	.venv/bin/python bench/retention

bench-faults: install ## The fault suite: nothing lost, nothing duplicated under faults (one table)
	.venv/bin/python bench/faults

up: ## docker compose up -d (needs a Docker engine)
	docker compose up -d

down: ## docker compose down
	docker compose down

.PHONY: help install run test lint format bench bench-latency bench-storm bench-flood bench-bigdb bench-retention bench-faults up down
