"""Config loading. Names are resolved lazily: subsystem configs import `config.base`, and an eager
import of the loader here would import them back while they are half-initialized."""
from __future__ import annotations

__all__ = ["ConfigError", "apply_overrides", "load_config", "save_config"]


def __getattr__(name: str):
    if name in __all__:
        from samdistill.config import loader

        return getattr(loader, name)
    raise AttributeError(f"module 'samdistill.config' has no attribute {name!r}")
