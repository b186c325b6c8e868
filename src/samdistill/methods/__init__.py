"""Training methods: what one training step computes. The engine runs any `Method`."""
from samdistill.methods.base import Method, StepOutput

__all__ = ["Method", "StepOutput"]
