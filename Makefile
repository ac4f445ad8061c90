# Two commands do everything on a fresh machine with Python 3.10+ and make:
#   make demo   - the example stock-sync DAG end to end against the local simulator
#   make test   - lint, types and the test suite on Airflow 3 (.venv) and Airflow 2.11 (.venv-airflow2)
# Every install takes its versions from constraints/airflow-<version>.txt (`make constraints` refreshes them),
# so a fresh machine next month installs exactly what passed today.
PYTHON ?= python3
AIRFLOW3_VERSION ?= 3.3.2
AIRFLOW2_VERSION ?= 2.11.2
# The Airflow 2.11 suite runs on the oldest supported Python (3.10) when the machine has one, so both
# ends of the supported range are tested; otherwise on $(PYTHON).
AIRFLOW2_PYTHON ?= $(or $(shell for p in python3.10 $$(pyenv root 2>/dev/null)/versions/3.10*/bin/python3.10; \
	do "$$p" -c "" >/dev/null 2>&1 && { echo "$$p"; break; }; done),$(PYTHON))
VENV := .venv
VENV2 := .venv-airflow2
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.10
CONSTRAINTS3 := constraints/airflow-$(AIRFLOW3_VERSION).txt
CONSTRAINTS2 := constraints/airflow-$(AIRFLOW2_VERSION).txt
# Bytecode is compiled at install time: without it every `import airflow` costs about 2 s more.
UV_INSTALL = $(UV) pip install --quiet --compile-bytecode
PYTEST_ARGS ?=

.PHONY: all install demo test lint test-airflow3 test-airflow2 bench bench-smoke simulator clean constraints

all: test

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS3) | $(UV)
	$(UV_INSTALL) --python $(VENV)/bin/python -c $(CONSTRAINTS3) "apache-airflow==$(AIRFLOW3_VERSION)" -e ".[test,openlineage]"
	touch $@

$(VENV2)/.installed: pyproject.toml $(CONSTRAINTS2) $(VENV)/.installed
	$(UV) venv --quiet --allow-existing --python $(AIRFLOW2_PYTHON) $(VENV2)
	$(UV_INSTALL) --python $(VENV2)/bin/python -c $(CONSTRAINTS2) "apache-airflow==$(AIRFLOW2_VERSION)" -e ".[test]"
	touch $@

# One constraints file per tested Airflow line, for every supported Python, resolved from pyproject.toml (all
# extras) plus constraints/airflow-<version>.in: the line's Airflow pin and the pins that avoid known upstream
# breaks, each with its reason. Existing pins are kept; `make constraints UPGRADE=--upgrade` takes the newest.
UPGRADE ?=
constraints: | $(UV)
	for input in constraints/airflow-*.in; do \
		$(UV) pip compile --quiet --universal --python-version 3.10 --all-extras $(UPGRADE) \
			--custom-compile-command "make constraints" pyproject.toml "$$input" -o "$${input%.in}.txt" || exit 1; \
	done

install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(VENV)/bin/python -m example_dags.run_demo

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test-airflow3: $(VENV)/.installed
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

test-airflow2: $(VENV2)/.installed
	$(VENV2)/bin/python -m pytest $(PYTEST_ARGS)

test: lint test-airflow3 test-airflow2

# Builds sdist and wheel, installs the wheel alone with Airflow into a fresh venv outside the checkout, and
# checks providers list, the simulator CLI, a DAG using operator and sensor, py.typed and twine check.
.PHONY: test-wheel
test-wheel: $(VENV)/.installed
	$(VENV)/bin/python -m pytest tests/e2e/test_built_wheel.py $(PYTEST_ARGS)

# Real-components tier (README "Real-components tests"): real Airflow CLI, api-server/webserver, scheduler,
# dag-processor, triggerer on both Airflow lines, and Debian's chromium (installed here when missing).
E2E_APT_PACKAGES := chromium fonts-wqy-zenhei
.PHONY: test-e2e e2e-browser
$(VENV)/.installed-e2e: pyproject.toml $(VENV)/.installed
	$(UV_INSTALL) --python $(VENV)/bin/python -c $(CONSTRAINTS3) -e ".[test,openlineage,e2e]"
	touch $@

e2e-browser:
	@dpkg -s $(E2E_APT_PACKAGES) >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(E2E_APT_PACKAGES); }

test-e2e: $(VENV)/.installed-e2e $(VENV2)/.installed e2e-browser
	$(VENV)/bin/python -m pytest tests/e2e --ignore=tests/e2e/test_built_wheel.py $(PYTEST_ARGS)

# Mutation testing (mutmut, configured in pyproject.toml) over the modules that carry the behaviour; slow
# (about an hour on 2 shared cores), so not part of CI. Survivors: `$(VENV)/bin/mutmut results`, `... show NAME`.
.PHONY: mutants
mutants: $(VENV)/.installed
	$(UV_INSTALL) --python $(VENV)/bin/python "mutmut==3.8.1"
	rm -rf mutants
	$(VENV)/bin/mutmut run --max-children 2
	$(VENV)/bin/python -m tests.mutation_report

# Compatibility tier: the built wheel with each supported Airflow line (constraints/airflow-*.in), each in a
# fresh venv on one of the machine's Pythons; prints line x Python x result. test-latest: the same without
# constraints, a canary for the next upstream release that breaks a line (not part of CI).
.PHONY: test-matrix test-latest
test-matrix: $(VENV)/.installed
	$(VENV)/bin/python -m pytest tests/matrix $(PYTEST_ARGS)

test-latest: $(VENV)/.installed
	WDT_MATRIX_UNPINNED=1 $(VENV)/bin/python -m pytest tests/matrix $(PYTEST_ARGS)

bench: $(VENV)/.installed
	$(VENV)/bin/python -m bench.pull_bench
	$(VENV)/bin/python -m bench.sync_bench

bench-smoke: $(VENV)/.installed
	$(VENV)/bin/python -m bench.pull_bench --smoke
	$(VENV)/bin/python -m bench.sync_bench --smoke

simulator: $(VENV)/.installed
	$(VENV)/bin/python -m airflow_provider_wdt.simulator --port 8650 --pending 1000

clean:
	rm -rf $(VENV) $(VENV2) .demo .pytest_cache .mypy_cache .ruff_cache *.egg-info mutants
