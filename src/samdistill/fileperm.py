"""Moved to `samdistill.core.fileperm`; re-exported here for code that imports the old name."""
from samdistill.core.fileperm import current_umask, respect_umask

__all__ = ["current_umask", "respect_umask"]
