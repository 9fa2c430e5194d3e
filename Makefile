# Two commands do everything on a fresh machine:
#   make demo   run the Hive example DAG on Airflow 3.3 against the local emulator
#   make test   lint, type-check and run the whole suite on Airflow 3.3 and Airflow 2.11
AIRFLOW3_VERSION ?= 3.3.2
AIRFLOW2_VERSION ?= 2.11.2
VENV3 := .venvs/airflow-$(AIRFLOW3_VERSION)
VENV2 := .venvs/airflow-$(AIRFLOW2_VERSION)
export HADOOP_ECO_AIRFLOW3_PYTHON := $(abspath $(VENV3))/bin/python
export HADOOP_ECO_AIRFLOW2_PYTHON := $(abspath $(VENV2))/bin/python

.PHONY: test demo bench venvs lint unit clean

venvs:
	scripts/make-venv.sh $(VENV3) $(AIRFLOW3_VERSION) test,dev,openlineage,browser
	scripts/make-venv.sh $(VENV2) $(AIRFLOW2_VERSION) test

lint: venvs
	$(VENV3)/bin/ruff check airflow_provider_hadoop_eco tests example_dags benchmarks scripts
	$(VENV3)/bin/ruff format --check airflow_provider_hadoop_eco tests example_dags benchmarks scripts
	$(VENV3)/bin/mypy

# The Debian packages the suites start on 127.0.0.1 (chromium, postgresql, redis, tinyproxy), the wheel the
# distributed suite installs, then everything on Airflow 3.3 and what runs in-process on Airflow 2.11, as two
# streams side by side (scripts/run-tests.sh says which tests go where, and why).
test: venvs lint dist
	scripts/install-system-packages.sh
	scripts/run-tests.sh $(VENV3)/bin/python $(VENV2)/bin/python

unit: venvs
	$(VENV3)/bin/python -m pytest tests/unit -q

demo:
	scripts/make-venv.sh $(VENV3) $(AIRFLOW3_VERSION) test,dev,openlineage,browser
	$(VENV3)/bin/python scripts/demo.py $(if $(REGION),--region $(REGION))

bench: venvs
	$(VENV3)/bin/python benchmarks/run.py

clean:
	rm -rf .venvs build dist *.egg-info .demo artifacts

.PHONY: dist test-distributed

# The provider's wheel and sdist in dist/ (tests/distributed installs the wheel, not the source tree).
dist:
	scripts/make-venv.sh $(VENV3) $(AIRFLOW3_VERSION) test,dev,openlineage,browser
	$(VENV3)/bin/python -m build --installer uv --outdir dist .

# The production-topology suite alone (PostgreSQL, Celery on Redis, two schedulers/workers/triggerers).
test-distributed: dist
	scripts/install-system-packages.sh postgresql redis
	HADOOP_ECO_REQUIRE_ALL=1 $(VENV3)/bin/python -m pytest tests/distributed -p no:cacheprovider -m distributed
