# Two commands do everything on a fresh machine:
#   make run    create .venv, install pinned deps, run the default workflow (config.yaml)
#   make test   same setup, then the test suite
# Both are idempotent: the install is skipped while the stamp is newer than
# requirements.txt and pyproject.toml.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.nnstructure-installed
CORES  ?= all
CONFIG ?= config.yaml
SNAKEMAKE_ARGS ?=

.PHONY: run test install dryrun report clean-results

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) --configfile $(CONFIG) $(SNAKEMAKE_ARGS)
	$(BIN)/snakemake --cores 1 --configfile $(CONFIG) --report results/$$($(BIN)/python -m nnstructure.config_tools preset $(CONFIG))/report.html

dryrun: $(STAMP)
	$(BIN)/snakemake -n --cores $(CORES) --configfile $(CONFIG)

test: $(STAMP)
	$(BIN)/python -m pytest

clean-results:
	rm -rf results/
