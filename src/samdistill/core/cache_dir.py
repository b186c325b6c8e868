"""Where built-on-first-use data lives (`$SAMDISTILL_CACHE` or `~/.cache/samdistill`), and how a
folder there is built without ever leaving a half-written one."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

from samdistill.core.fileperm import respect_umask


def default_cache_dir() -> Path:
    return Path(os.environ.get("SAMDISTILL_CACHE") or Path.home() / ".cache" / "samdistill").expanduser()


def build_atomically(final: Path, build: Callable[[Path], object],
                     complete: Callable[[Path], bool] = lambda p: (p / "manifest.json").is_file()) -> Path:
    """Run `build(tmp)` in a temporary sibling of `final`, then rename it into place, so a folder
    is either absent or complete. An existing `final` (an interrupted or outdated build) is
    replaced; if another process renames its own build first, that one is kept."""
    if final.exists():
        shutil.rmtree(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=final.parent))
    try:
        build(tmp)
        respect_umask(tmp, directory=True)  # mkdtemp makes 0700
        os.rename(tmp, final)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if complete(final):
            return final
        raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final
