"""The errors a user's mistake raises; the CLI turns each into one clear line and exit code 2
(`cli.common.user_errors`). Their old homes (`config.loader`, `data.errors`, `engine.artifact`)
re-export these same classes, so `except` clauses written against either name catch them."""
from __future__ import annotations


class ConfigError(ValueError):
    """A config file or override is invalid; the message names the file and key."""


class DataError(ValueError):
    """Base class: something in the user's data is wrong; the message names the path(s)."""


class ImageReadError(DataError):
    def __init__(self, path, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: cannot read image: {reason}")


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, or does not match the network; names the file."""
