# Two entry points for a fresh machine with Python 3.11+: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# setuptools announces, as a warning, that an editable install of a package with a mapped folder
# (reports/templates is installed as auditor.report_templates) goes through an import finder.
# That is information, not a problem; only that notice is filtered (by its text), every other
# build warning still shows. tests/test_packaging.py runs this install and expects no warning.
EDITABLE_NOTICE := ignore:Editable installation

.PHONY: demo test lint bench docs clean

$(STAMP): pyproject.toml
	./scripts/ensure-kerberos
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	PYTHONWARNINGS='$(EDITABLE_NOTICE)' $(PY) -m pip install -q -e '.[test]'
	@PYTHONWARNINGS='$(EDITABLE_NOTICE)' $(PY) -m pip install -q -e '.[kerberos]' \
	  || echo "warning: the Kerberos packages did not install (MIT Kerberos headers missing?); the Kerberos tests will be skipped"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/auditor demo --out demo-report

test: $(STAMP)
	./scripts/ensure-chromium
	$(VENV)/bin/ruff check auditor tests bench scripts
	$(PY) -m pytest -n 2 -q

lint: $(STAMP)
	$(VENV)/bin/ruff check auditor tests bench scripts

docs: $(STAMP)
	$(VENV)/bin/auditor checks --markdown > docs/checks.md

bench: $(STAMP)
	$(PY) bench/bench_collect.py

clean:
	rm -rf $(VENV) build dist *.egg-info demo-report
