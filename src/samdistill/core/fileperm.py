"""Files and folders we write get the permissions the user's umask asks for.

`tempfile.mkstemp` / `mkdtemp` create 0600 / 0700 entries and safetensors' writer follows suit,
so a plain rename into place would leave outputs that colleagues on a shared machine cannot read
(umask 022 means 0644 / 0755). Every atomic write sets the mode before its rename.
"""
from __future__ import annotations

import os
from pathlib import Path


def current_umask() -> int:
    mask = os.umask(0)  # the only way to read it; restored at once
    os.umask(mask)
    return mask


def respect_umask(path: str | Path, directory: bool = False) -> None:
    """chmod `path` to 0666 (files) or 0777 (folders) minus the umask; folders recursively."""
    path = Path(path)
    mask = current_umask()
    if directory:
        for root, dirs, files in os.walk(path):
            os.chmod(root, 0o777 & ~mask)
            for name in files:
                os.chmod(os.path.join(root, name), 0o666 & ~mask)
        return
    os.chmod(path, 0o666 & ~mask)
