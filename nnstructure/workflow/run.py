"""Where a run's outputs go (the Makefile's report step): ``python -m nnstructure.workflow.run SNAKEMAKE_ARGS...``."""

from __future__ import annotations

import sys
from pathlib import Path


def run_output_dir(snakemake_args: list[str]) -> str:
    """``<results_dir>/<preset>`` of the Snakemake run these command-line arguments start.

    As Snakemake reads them: the ``--configfile`` files in order, then the
    ``--config KEY=VALUE`` overrides, relative to ``--directory``; the schema's
    defaults (``results``, ``default``) for what none of them sets.
    """
    import yaml
    from snakemake.cli import get_argument_parser, parse_config
    from snakemake.utils import update_config

    args, _ = get_argument_parser().parse_known_args(snakemake_args)
    config: dict = {}
    for path in args.configfile or [Path("config.yaml")]:
        update_config(config, yaml.safe_load(Path(path).read_text()) or {})
    if args.config:
        update_config(config, parse_config(args.config))
    results = Path(str(config.get("results_dir", "results")))
    if args.directory is not None and not results.is_absolute():
        results = Path(args.directory) / results
    return f"{results.as_posix()}/{config.get('preset', 'default')}"


def report_is_current(outdir: str | Path) -> bool:
    """Whether ``<outdir>/report.html`` exists and nothing under ``outdir`` is newer (a run that did nothing):
    ``make run`` then skips rebuilding the HTML report."""
    outdir = Path(outdir)
    report = outdir / "report.html"
    if not report.is_file():
        return False
    made = report.stat().st_mtime
    return not any(p.is_file() and p.stat().st_mtime > made for p in outdir.rglob("*") if p != report)


def main(argv: list[str] | None = None) -> int:
    """``python -m nnstructure.workflow.run SNAKEMAKE_ARGS...``: print the run's output folder."""
    print(run_output_dir(sys.argv[1:] if argv is None else argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
