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

# Where the preset's outputs go: <results_dir>/<preset>/ (both read from the config file).
OUTDIR = $$($(BIN)/python -c "import yaml,sys; c=yaml.safe_load(open(sys.argv[1])) or {}; print(c.get('results_dir','results') + '/' + c.get('preset','default'))" $(CONFIG))

run: export PATH := $(abspath $(BIN)):$(PATH)
run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) --configfile $(CONFIG) $(SNAKEMAKE_ARGS)
	$(BIN)/snakemake --cores 1 --configfile $(CONFIG) --report $(OUTDIR)/report.html
	@echo "Done: tables, figures and scorecard in $(OUTDIR)/report/, HTML report at $(OUTDIR)/report.html"

dryrun: $(STAMP)
	$(BIN)/snakemake -n --cores $(CORES) --configfile $(CONFIG)

test: $(STAMP)
	$(BIN)/python -m pytest

# The workflow through profiles/slurm on a real one-node SLURM (installed with apt-get;
# needs root on Debian/Ubuntu, prints SKIPPED elsewhere), compared with a local run.
.PHONY: test-slurm
test-slurm: $(STAMP)
	$(BIN)/python tests/slurm/run_slurm.py

clean-results:
	rm -rf results/
