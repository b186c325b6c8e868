"""The Method contract moved to `engine/method.py`, beside the trainer that calls it; these are
the same classes, re-exported for the methods and for code that imports them from here."""
from samdistill.engine.method import Method, StepOutput

__all__ = ["Method", "StepOutput"]
