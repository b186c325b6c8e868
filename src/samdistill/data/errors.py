"""Errors for bad input data. Each names the offending file(s). `DataError` and `ImageReadError`
live in core/ (every package raises or catches them) and are re-exported here."""
from __future__ import annotations

from samdistill.core.errors import DataError, ImageReadError

__all__ = ["DataError", "ImageReadError", "PairingError"]


class PairingError(DataError):
    """All pairing problems found in a dataset, not just the first."""

    def __init__(self, root, problems: list[str]):
        self.root = root
        self.problems = list(problems)
        shown = "\n  ".join(self.problems[:50])
        more = f"\n  ... and {len(self.problems) - 50} more" if len(self.problems) > 50 else ""
        super().__init__(
            f"{root}: {len(self.problems)} pairing problem(s):\n  {shown}{more}\n"
            "Fix the files, or set on_bad_pairs: skip in the dataset config to leave them out."
        )
