# The two commands of a fresh machine (README.md):
#
#   make demo   the quickstart: an SVM tuned on scikit-learn's digits, trials kept in
#               .unitune/studies.journal (run it again and the study is resumed)
#   make test   mypy, then the tests (PYTEST_ARGS="tests/test_cli.py -x" picks some)
#
# Each creates the virtual environment $(VENV) when it is missing and installs the
# project into it (editable) with the extras it needs; it installs again only when
# pyproject.toml changes: a stamp file $(VENV)/.installed-EXTRAS records each install.

PYTHON ?= python3
VENV ?= .venv
# The quickstart needs scikit-learn; the engines the README switches to next
# (--backend skopt:gp, ray:asha, pymoo:nsga2) and the viewers of the ledger come along.
DEMO_EXTRAS ?= optuna,skopt,ray,pymoo,viz
TEST_EXTRAS ?= all,dev
PYTEST_ARGS ?=

comma := ,
installed = $(VENV)/.installed-$(subst $(comma),-,$(1))

.PHONY: demo test

demo: $(call installed,$(DEMO_EXTRAS))
	$(VENV)/bin/unitune run recipes/quickstart.py:objective --space recipes/quickstart.yaml \
	    --direction maximize --n-trials 30 --seed 0

test: $(call installed,$(TEST_EXTRAS))
	$(VENV)/bin/mypy
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-%: pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/python -m pip install -e ".[$(subst -,$(comma),$*)]"
	touch $@
