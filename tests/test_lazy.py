"""Packages whose names are imported on first use: every exported name resolves, and light imports stay light."""

import importlib
import subprocess
import sys

import pytest

LAZY_PACKAGES = ["nnstructure.imagenet", "nnstructure.probe", "nnstructure.specialization", "nnstructure.stats",
                 "nnstructure.train"]


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_every_exported_name_resolves_to_its_module_object(package):
    pkg = importlib.import_module(package)
    for name in pkg.__all__:
        value = getattr(pkg, name)
        assert getattr(pkg, name) is value and name in dir(pkg)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        pkg.nope


def test_packages_and_the_cli_parser_do_not_import_torch():
    code = ("import sys; import " + ", ".join(LAZY_PACKAGES) + "; from nnstructure.cli import build_parser; "
            "build_parser(); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


def test_the_workflow_helpers_do_not_import_scipy_stats():
    # Every Snakemake call imports them; scipy.stats (for the Fisher statistics) cost about 0.5 CPU-s there.
    code = "import sys, nnstructure.workflow; print('scipy.stats' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


def test_training_params_of_every_trained_network_do_not_import_torch():
    # The Snakemake process computes them for every job of a DAG: a torch import there cost 2 CPU-s a call.
    code = (
        "import sys, yaml\n"
        "from nnstructure import workflow as wc\n"
        "from nnstructure.config_check import fill_defaults\n"
        "cfg = fill_defaults(yaml.safe_load(open('config/paper.yaml')), 'config/schema.yaml')\n"
        "n = 0\n"
        "for name, s in cfg['networks'].items():\n"
        "    if s.get('kind', 'trained') == 'trained':\n"
        "        for net in wc.networks_of(cfg, name):\n"
        "            assert wc.train_params(cfg, net)['settings']; n += 1\n"
        "print(n, 'torch' in sys.modules)"
    )
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root).stdout.split()
    assert int(out[0]) > 100 and out[1] == "False"
