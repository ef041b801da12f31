# The two set-up commands of the README: `make run` and `make test`. Both create/refresh the venv
# and build or find the test-bed tools (cached under ~/.cache/fleetyard, reused on later runs).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: run up down venv test unit tools crds check-crds clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml $(PY)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

venv: $(STAMP)

tools:
	bash hack/tools.sh

run: $(STAMP) tools
	$(VENV)/bin/fleetyard dev up

up: $(STAMP) tools
	$(VENV)/bin/fleetyard dev up --detach

down: $(STAMP)
	$(VENV)/bin/fleetyard dev down

# lint-imports: the layers and doors of .importlinter (a second or less) before the suite
test: $(STAMP) tools
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q -p no:cacheprovider

unit: $(STAMP)
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q tests/unit

crds: $(STAMP)
	$(VENV)/bin/fleetyard crds
	$(VENV)/bin/fleetyard webhook-rules

check-crds: $(STAMP)
	$(VENV)/bin/fleetyard crds --check
	$(VENV)/bin/fleetyard webhook-rules --check

# docs/rest-api.md, docs/openapi.json, docs/crd-reference.md from the code (docs/ exists: phony)
.PHONY: docs
docs: $(STAMP)
	$(VENV)/bin/fleetyard docs

clean:
	rm -rf $(VENV) .fleetyard
