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

.PHONY: run test install dryrun report clean-results check-config

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

# Snakemake's config arguments; SNAKEMAKE_ARGS come last, so their --configfile or --config wins.
RUN_ARGS = --configfile $(CONFIG) $(SNAKEMAKE_ARGS)
# Prints where the run's outputs go, <results_dir>/<preset>, as Snakemake reads RUN_ARGS.
PRINT_OUTDIR = $(BIN)/python -m nnstructure.workflow.run $(RUN_ARGS)

# A missing preset is reported before anything is installed.
check-config:
	@test -f "$(CONFIG)" || { echo "make: no config file '$(CONFIG)'. Presets: config.yaml (default) $$(ls config/*.yaml | grep -v schema.yaml | tr '\n' ' ')"; exit 2; }

# After a killed run (kill -9, a crash) the folder keeps a stale lock and the run's jobs may
# still be running: nnstructure.recovery stops those, deletes the temporary files of their
# interrupted writes (here and in the run's results folder), then Snakemake unlocks and redoes
# the incomplete jobs (--rerun-incomplete). While another run is alive in the folder, make run
# stops at once, saying so (Snakemake's own lock error would suggest --unlock).
run: export PATH := $(abspath $(BIN)):$(PATH)
run: check-config $(STAMP)
	@$(BIN)/python -m nnstructure.recovery . "$$($(PRINT_OUTDIR))"; code=$$?; \
	if [ $$code = 3 ]; then exit 2; elif [ $$code = 0 ]; then $(BIN)/snakemake --unlock $(RUN_ARGS) --cores 1 >/dev/null; fi
	$(BIN)/snakemake --cores $(CORES) --rerun-incomplete $(RUN_ARGS)
	outdir=$$($(PRINT_OUTDIR)) && \
	if $(BIN)/python -c "import sys; from nnstructure.workflow.run import report_is_current; sys.exit(not report_is_current(sys.argv[1]))" "$$outdir"; \
	then echo "Nothing changed: $$outdir/report.html is up to date"; \
	else $(BIN)/snakemake --cores 1 $(RUN_ARGS) --report "$$outdir/report.html"; fi && \
	echo "Done: tables, figures and scorecards in $$outdir/report/, HTML report at $$outdir/report.html"

dryrun: check-config $(STAMP)
	$(BIN)/snakemake -n --cores $(CORES) $(RUN_ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest

# The kill -9 reliability drills (tests/test_drills.py, about 2.5 CPU-minutes); CI runs them after make test.
.PHONY: test-drills
test-drills: $(STAMP)
	$(BIN)/python -m pytest -m drill

# The workflow through profiles/slurm on a real one-node SLURM (installed with apt-get;
# needs root on Debian/Ubuntu, prints SKIPPED elsewhere), compared with a local run.
.PHONY: test-slurm
test-slurm: $(STAMP)
	$(BIN)/python tests/slurm/run_slurm.py

clean-results:
	rm -rf results/
