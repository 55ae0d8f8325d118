# gg-reset developer entry points. Every target bootstraps what it needs (.venv, node_modules) itself.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
# Every Python package of the dev set and the tools, pinned with hashes (`make lock` writes it).
LOCK := requirements/dev.txt
LOCK_INPUTS := pyproject.toml requirements/tools.in
# The Node.js the CDK runs on: the `node` package of package.json (Node 22 LTS), installed by `make node`.
# Recipes that run the CDK (jsii starts `node` from PATH; so do npx and the cdk CLI) put it first on PATH.
NODE_BIN := $(CURDIR)/node_modules/node/bin
WITH_NODE := PATH="$(NODE_BIN):$$PATH"
export CDK_DISABLE_CLI_TELEMETRY := 1
export AWS_EC2_METADATA_DISABLED := true

.PHONY: help venv node lock demo test soak lint format bench synth bootstrap deploy destroy clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'

$(PY_STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "gg-reset needs Python 3.11 or newer (found " + sys.version.split()[0] + "); set PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: install npm (any Node.js that runs it); make node then installs Node 22, the CDK CLI and DynamoDB Local into node_modules/"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@$(NODE_BIN)/node -e 'process.exit(process.versions.node.split(".")[0] === "22" ? 0 : 1)' || { echo "node_modules/node/bin/node is not Node 22: see docs/toolchain.md"; exit 1; }
	@touch $@

venv: $(PY_STAMP) ## Create .venv with gg-reset and its development tools, as pinned in requirements/dev.txt

node: $(NODE_STAMP) ## Install Node.js 22, the CDK CLI and DynamoDB Local into node_modules/ (package-lock.json)

lock: $(PY_STAMP) ## Re-pin requirements/dev.txt to pyproject.toml (other pins kept); UPGRADE=1 or UPGRADE_PACKAGE=name: newest
	@cp -p $(LOCK) $(LOCK).previous 2>/dev/null || true
	$(BIN)/uv pip compile --quiet $(LOCK_INPUTS) --extra dev --universal --python-version 3.11 --generate-hashes \
		--custom-compile-command "make lock" --output-file $(LOCK) \
		$(if $(UPGRADE),--upgrade) $(foreach p,$(UPGRADE_PACKAGE),--upgrade-package $(p))
	@# Unchanged: keep its date, so .venv is not reinstalled for nothing.
	@if cmp -s $(LOCK) $(LOCK).previous; then touch -r $(LOCK).previous $(LOCK); echo "$(LOCK): unchanged"; \
		else echo "$(LOCK): updated; the next make target reinstalls .venv"; fi; rm -f $(LOCK).previous

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
	$(WITH_NODE) $(BIN)/pytest -n 2 $(PYTEST_ARGS)

soak: $(PY_STAMP) ## Reliability suite at full size: 1,000-request soak under every fault, 10,000+ fuzzed events
	GG_RESET_SOAK_REQUESTS=1000 GG_RESET_FUZZ_BATCHES=1800 GG_RESET_FUZZ_MIN_EVENTS=10000 $(BIN)/pytest -p no:xdist -p no:logging -q -s tests/reliability

bench: $(PY_STAMP) ## Benchmarks: throughput and memory of the workflow and the local service
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

synth: $(PY_STAMP) $(NODE_STAMP) ## Synthesise the CDK app offline into cdk.out/ (cdk-nag checks included)
	$(WITH_NODE) $(BIN)/python app.py

bootstrap: $(PY_STAMP) $(NODE_STAMP) ## cdk bootstrap the account/region of your current AWS credentials (once)
	PATH="$(NODE_BIN):$(CURDIR)/$(BIN):$$PATH" npx --no-install cdk bootstrap --no-notices $(CDK_ARGS)

deploy: $(PY_STAMP) $(NODE_STAMP) ## cdk deploy with your current AWS credentials
	PATH="$(NODE_BIN):$(CURDIR)/$(BIN):$$PATH" npx --no-install cdk deploy --no-notices $(CDK_ARGS)

destroy: $(PY_STAMP) $(NODE_STAMP) ## cdk destroy (the ledger table is retained; see README)
	PATH="$(NODE_BIN):$(CURDIR)/$(BIN):$$PATH" npx --no-install cdk destroy --no-notices $(CDK_ARGS)

clean: ## Remove build output (keeps .venv and node_modules)
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache .hypothesis
