"""Package attributes imported on first use (PEP 562).

A package's ``__init__`` that imported all its modules would import torch (or
pandas, scipy) for anyone who needs one light piece of it: the command-line
parser, the workflow's config checks at every Snakemake start. Such packages
instead declare which name lives in which module::

    __getattr__, __dir__, __all__ = lazy_exports(__name__, {"weights": ("find_imagenet_weights",)})
"""

from __future__ import annotations

import importlib
import sys


def lazy_exports(package: str, exports: dict[str, tuple[str, ...]]):
    """``(__getattr__, __dir__, __all__)`` for ``package``: each name of ``exports[module]`` is
    imported from ``package.module`` when first used, then kept in the package's namespace."""
    module_of = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str):
        if name not in module_of:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module_of[name]}"), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__():
        return sorted(set(vars(sys.modules[package])) | set(module_of))

    return __getattr__, __dir__, sorted(module_of)
