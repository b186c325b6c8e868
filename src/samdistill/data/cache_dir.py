"""Where built-on-first-use data lives and the atomic folder build, re-exported (the same objects) from
`samdistill.core.cache_dir`, below both the data and the street world that build there."""
from __future__ import annotations

from samdistill.core.cache_dir import build_atomically, default_cache_dir  # noqa: F401 (re-exported)
