# argos-cloud: two commands on a fresh machine — `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.argos-cloud-installed

.PHONY: demo demo-hosts test test-fast test-hosts bench lint venv clean-venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## The whole lifecycle on the sandbox: validate → commission → status → deploy → decommission → clean
demo: venv
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash scripts/demo.sh

## The whole lifecycle on real machines (root, Linux): hosts sandbox → commission → URL →
## deploy → rollback → decommission → clean → stop
demo-hosts: venv
	bash scripts/hosts-deps.sh
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash scripts/demo-hosts.sh

## Every test tier (unit, aws, e2e, salt, reliability, hosts), ruff and mypy
test: venv
	bash scripts/hosts-deps.sh
	$(VENV)/bin/ruff check src tests bench scripts manage.py reference-app
	$(PY) -m mypy src/argos_cloud
	$(PY) -m mypy tests
	$(PY) -m pytest -q -p no:cacheprovider

## Skip the slow tiers (salt, e2e) while working
test-fast: venv
	$(PY) -m pytest -q -m "not salt and not e2e and not hosts"

## The hosts tier alone (root, Linux): real machines in systemd-nspawn
test-hosts: venv
	bash scripts/hosts-deps.sh
	$(PY) -m pytest -q -p no:cacheprovider -m hosts -rs

## Timings and AWS call counts on a moto server; writes bench/results.json
bench: venv
	$(PY) bench/run.py

lint: venv
	$(VENV)/bin/ruff check src tests bench scripts manage.py reference-app

clean-venv:
	rm -rf $(VENV)
