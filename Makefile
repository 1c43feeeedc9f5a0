# The README's commands. Every target bootstraps .venv itself from pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
CHROMIUM := /usr/bin/chromium
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: install run reset token replay test lint unit e2e bench chaos browser-deps deploy clean openapi alarms events

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

## make run: the whole product on http://127.0.0.1:3000 (moto, local bus, timer, Graph stand-in, web app)
run: install
	$(BIN)/inbox-local run

## make reset: wipe the local stack's data (it is re-seeded on the next run)
reset: install
	$(BIN)/inbox-local reset

## make token ROLE=agent: mint a dev token for the demo workspace
ROLE ?= owner
token: install
	@$(BIN)/inbox-local token --role $(ROLE)

## make replay FILE=events/messenger/text.json: sign and post a sample webhook to the running stack
replay: install
	$(BIN)/inbox-local replay $(FILE)

## Browser tests drive Debian's chromium (Playwright cannot download its own browser here).
browser-deps:
	@test -x $(CHROMIUM) || (command -v apt-get >/dev/null && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)) || echo "chromium not installed: browser tests will fail"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	@# The house: layer contracts ([tool.importlinter]), module size, what handlers may import.
	$(BIN)/lint-imports --no-cache
	PYTHONPATH=tests $(BIN)/python -m support.structure
	$(BIN)/cfn-lint template.yaml
	@# The template as CloudFormation receives it (SAM-expanded offline; IAM is tested on this form).
	@# W2001/W1020: the offline expansion inlines parameter defaults, leaving those unused / Subs empty.
	@mkdir -p .aws-sam
	PYTHONPATH=tests $(BIN)/python -m support.iam > .aws-sam/template.expanded.json
	$(BIN)/cfn-lint --ignore-checks W2001 W1020 -- .aws-sam/template.expanded.json

## make alarms: regenerate template.yaml's CloudWatch alarms (every function, dead-letter queue and API)
alarms: install
	PYTHONPATH=tests $(BIN)/python -m support.alarms

## make events: regenerate docs/EVENTS.md (every detail-type's contract, producers, consumer rules)
events: install
	PYTHONPATH=tests $(BIN)/python -m support.events_catalog

unit: install
	$(BIN)/pytest -q -n 2 tests/unit tests/integration

e2e: install browser-deps
	$(BIN)/pytest -q tests/e2e

test: install browser-deps lint
	$(BIN)/pytest -q -n 2 tests

## make bench: cost (DynamoDB requests, items read/written) and latency per operation, as JSON
bench: install
	@mkdir -p bench-results
	cd tests && ../$(BIN)/python -m bench --out ../bench-results/bench.json

## make chaos: the product on the local stack under 10 % seeded faults, a fixed workload, then the
## figures that must be 0 (lost, stored twice, events missing, sends duplicated/never made, stuck)
chaos: install
	@mkdir -p bench-results
	cd tests && ../$(BIN)/python -m chaos --out ../bench-results/chaos.json

openapi: install
	$(BIN)/python -c 'from inbox_crm.api.app import openapi_json; print(openapi_json())'

deploy:
	sam build && sam deploy --guided

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .aws-sam
