"""What the engine asks of a validation pass: the `Validator` protocol. The validators themselves
(restoration: PSNR/SSIM; segmentation: one confusion matrix) live beside the methods, in
`methods/validation.py`.

The trainer asks the method for its validator (`Method.validator(eval_cfg)`). A batch whose
image could not be read (`read_error`, see `data.loader.ValidationPairs`) goes to `skip` instead
of `update`, so that every process still takes part in each gather. A validator sees every
validation batch on every process and reduces across processes itself
(`accelerator.gather_for_metrics` drops the duplicates a distributed sampler pads the last batch
with). The engine knows which numbers to log, never what produced them.
"""
from __future__ import annotations

from typing import Any, Protocol


class Validator(Protocol):
    def update(self, method: Any, batch: dict, accelerator: Any) -> None: ...

    def skip(self, batch: dict, accelerator: Any) -> None: ...

    def compute(self) -> dict[str, Any]: ...
