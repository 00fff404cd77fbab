"""Packages whose names are imported on first use: every exported name resolves, and light imports stay light."""

import importlib
import subprocess
import sys

import pytest

LAZY_PACKAGES = ["nnstructure.imagenet", "nnstructure.probe", "nnstructure.specialization", "nnstructure.train"]


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
