"""The base class of the restoration methods: the engine's Method contract (`engine/method.py`,
beside the trainer that calls it) with restoration's validator, PSNR/SSIM of `restore(lq)`.

`Method` here is the name methods subclassed before the contract moved to the engine (the plain
baseline's, SAM4IR's and users' methods): it stays `RestorationMethod`, so a method that names no
validator of its own is still scored on `restore(lq)`. `StepOutput` is the engine's.
"""
from __future__ import annotations

from typing import Any

from samdistill.engine.method import Method as MethodContract
from samdistill.engine.method import StepOutput
from samdistill.methods.validation import RestorationValidator


class RestorationMethod(MethodContract):
    """A method whose shipped network restores images: it implements `restore(lq) -> image`, which
    validation scores (PSNR/SSIM against `gt`, with each `extra_validation` output)."""

    def validator(self, eval_cfg: Any) -> RestorationValidator:
        return RestorationValidator(eval_cfg)


Method = RestorationMethod  # the old name (see above)

__all__ = ["Method", "MethodContract", "RestorationMethod", "StepOutput"]
