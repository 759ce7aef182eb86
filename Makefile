# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app store
HOST ?= 127.0.0.1
PORT ?= 5000
# Links that leave the store (emails, the sandbox gateway) point at the server `make run` starts.
STORE_BASE_URL ?= http://$(HOST):$(PORT)
CATALOGUES := $(wildcard store/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGUES:.po=.mo)

.PHONY: run test install install-dev translations i18n-extract clean

run: install
	$(FLASK) db upgrade
	$(FLASK) store seed-demo --if-empty
	STORE_BASE_URL=$(STORE_BASE_URL) $(FLASK) run --host $(HOST) --port $(PORT)

test: install-dev
	$(BIN)/pytest $(PYTEST_ARGS)

# Installing includes compiling the translations, so every way of running shows Spanish.
install: $(VENV)/.installed translations
install-dev: $(VENV)/.installed-dev translations

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

# Compiled message catalogues are build products (not committed): one .mo per .po.
# The editable install reads them here; a wheel build compiles its own (store/_build_hook.py).
translations: $(COMPILED)

%.mo: %.po | $(VENV)/.installed
	$(BIN)/pybabel compile -i $< -o $@

# For developers: collect new UI strings into the template and merge them into each .po.
i18n-extract: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k _ln:1,2 -k lazy_ngettext:1,2 \
		--no-location --sort-output \
		--project store --copyright-holder "Licence store contributors" -o store/messages.pot .
	$(BIN)/pybabel update -i store/messages.pot -d store/translations --no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) $(COMPILED) .pytest_cache
