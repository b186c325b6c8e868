"""Errors for bad input data. Each names the offending file(s)."""
from __future__ import annotations


class DataError(ValueError):
    """Base class: something in the user's data is wrong; the message names the path(s)."""


class ImageReadError(DataError):
    def __init__(self, path, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: cannot read image: {reason}")


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
