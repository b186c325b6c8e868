"""Experiment configs: base.py (StrictModel, the base of every section), experiment.py (the whole
experiment, composed of each subsystem's section), loader.py (YAML + key.sub=value overrides).

`ConfigError` comes from core/. The loader's functions are resolved on first use: the loader
imports every subsystem's config section, and each section imports `config.base`, i.e. this
package, so importing the loader here would import the sections back half-initialized.
"""
from __future__ import annotations

from samdistill.core.errors import ConfigError

__all__ = ["ConfigError", "apply_overrides", "load_config", "save_config"]
_FROM_LOADER = ("apply_overrides", "load_config", "save_config")


def __getattr__(name: str):
    if name in _FROM_LOADER:
        from samdistill.config import loader

        return getattr(loader, name)
    raise AttributeError(f"module 'samdistill.config' has no attribute {name!r}")
