"""The one atomic file write: into a unique temporary sibling, then `os.replace` over the target,
so a reader (another DataLoader worker, another rank, a user) sees the old file or the new one,
never half of one, and a crash leaves at most a hidden `.NAME.*.tmp` file behind. The temporary
file is made by `mkstemp` (0600); the mode the umask asks for is set before the rename."""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from samdistill.core.fileperm import respect_umask


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary sibling of `path` for the caller to write (by name: safetensors, PIL); renamed
    over `path` when the block ends, removed when it raises. Creates `path`'s folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        respect_umask(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | Path, text: str) -> Path:
    """UTF-8 text, written atomically (see the module docstring)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
