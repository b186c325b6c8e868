"""Where built-on-first-use data lives: `$SAMDISTILL_CACHE` or `~/.cache/samdistill`."""
from __future__ import annotations

import os
from pathlib import Path


def default_cache_dir() -> Path:
    return Path(os.environ.get("SAMDISTILL_CACHE") or Path.home() / ".cache" / "samdistill").expanduser()
