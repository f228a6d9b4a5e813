# Two commands for a newcomer: `make preview` and `make test`. Each builds .venv from the pinned
# requirements on first use (python3 with venv is all a fresh machine needs).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
STACK ?= dev

.PHONY: preview test lint bench docs clean

$(STAMP): requirements.txt requirements-dev.txt policies/requirements.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $(STAMP)

preview: $(STAMP)  ## offline preview of a stack (STACK=dev|prod, OUT=dir to write manifests); stand-ins for unset secrets
	$(PY) -m offline preview --stack $(STACK) --stand-in-secrets $(if $(OUT),--out $(OUT))

test: $(STAMP)  ## the whole test suite
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .

bench: $(STAMP)  ## wall time of the offline preview for dev, prod and prod with 10x models
	$(PY) -m bench.preview

docs: $(STAMP)  ## regenerate the config and outputs references, the outputs schema and the policy configs
	$(PY) -m tools.config_reference --write
	$(PY) -m tools.outputs_schema --write
	$(PY) -m tools.policy_config --stack dev --write
	$(PY) -m tools.policy_config --stack prod --write

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
