"""What a validation pass scores, beside the methods it scores: restoration (PSNR/SSIM of
`restore(lq)`) or segmentation (one confusion matrix of `segment(image)`). Both follow the
engine's `Validator` protocol (`engine/validation.py`): `update` per batch, `skip` for a batch
carrying `read_error`, `compute` at the end, each reducing across processes itself."""
from __future__ import annotations

from typing import Any

import torch

from samdistill.metrics.psnr_ssim import mean_value, psnr_torch, ssim_torch


class RestorationValidator:
    """PSNR/SSIM of `method.restore(lq)` and of each `method.extra_validation(batch)` output."""

    def __init__(self, eval_cfg: Any):
        self.ev = eval_cfg
        self.scores: dict[str, list[torch.Tensor]] = {}  # rows (psnr, ssim, 1 = scored / 0 = skipped)

    def update(self, method: Any, batch: dict, accelerator: Any) -> None:
        with accelerator.autocast():
            outputs = {"": method.restore(batch["lq"]), **method.extra_validation(batch)}
        gt = batch["gt"].float()
        for key, pred in outputs.items():
            pred = pred.float().clamp(0, 1)
            per_image = torch.stack([psnr_torch(pred, gt, self.ev.crop_border, self.ev.y_channel),
                                     ssim_torch(pred, gt, self.ev.crop_border, self.ev.y_channel),
                                     torch.ones(len(gt), device=gt.device)], dim=1)
            self.scores.setdefault(key, []).append(accelerator.gather_for_metrics(per_image).cpu())

    def skip(self, batch: dict, accelerator: Any) -> None:
        """Unscored rows for an unreadable image (the outputs seen so far, IR1's at least)."""
        rows = torch.zeros(len(batch["gt"]), 3, device=batch["gt"].device)
        for key in self.scores or {"": None}:
            self.scores.setdefault(key, []).append(accelerator.gather_for_metrics(rows).cpu())

    def compute(self) -> dict[str, Any]:
        record: dict[str, Any] = {}
        for key, chunks in self.scores.items():
            table = torch.cat(chunks)
            table = table[table[:, 2] > 0]
            prefix = f"{key}_" if key else ""
            record[f"{prefix}psnr"] = mean_value(table[:, 0].tolist())
            record[f"{prefix}ssim"] = mean_value(table[:, 1].tolist())
        main = torch.cat(self.scores[""]) if "" in self.scores else torch.zeros(0, 3)
        record["images"] = int((main[:, 2] > 0).sum())
        if (main[:, 2] == 0).any():
            record["skipped_images"] = int((main[:, 2] == 0).sum())
        return record


class SegmentationValidator:
    """mIoU, pixel accuracy, mean class accuracy and mean Dice of `method.segment(image)` (class
    logits or ids) against `batch["label"]`, from one confusion matrix over the whole set, plus
    the same for each `method.extra_validation(batch)` output (e.g. the teacher assistant)."""

    def __init__(self, num_classes: int, ignore_index: int = 255):
        self.num_classes, self.ignore_index = num_classes, ignore_index
        self.matrices: dict[str, torch.Tensor] = {}
        self.images = 0

    def _per_image(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """(B, C*C) confusion counts per image, so duplicates can be dropped by the gather."""
        if pred.dim() == 4:
            pred = pred.argmax(1)
        n = self.num_classes
        valid = target != self.ignore_index
        index = torch.where(valid, target.long() * n + pred.long().clamp(0, n - 1), n * n)
        counts = torch.zeros(target.shape[0], n * n + 1, dtype=torch.long, device=target.device)
        counts.scatter_add_(1, index.flatten(1), torch.ones_like(index.flatten(1)))
        return counts[:, : n * n]

    def update(self, method: Any, batch: dict, accelerator: Any) -> None:
        with accelerator.autocast():
            outputs = {"": method.segment(batch["image"]), **method.extra_validation(batch)}
        target = batch["label"]
        for key, pred in outputs.items():
            counts = accelerator.gather_for_metrics(self._per_image(pred, target)).sum(0).cpu()
            self.matrices[key] = self.matrices.get(key, 0) + counts
            if key == "":
                self.images += int(accelerator.gather_for_metrics(torch.ones(len(target), device=target.device)).sum())

    def compute(self) -> dict[str, Any]:
        from samdistill.metrics.segmentation import ConfusionMatrix

        record: dict[str, Any] = {}
        for key, counts in self.matrices.items():
            cm = ConfusionMatrix(self.num_classes, self.ignore_index)
            cm.merge(counts.reshape(self.num_classes, self.num_classes))
            scores = cm.compute()
            prefix = f"{key}_" if key else ""
            record.update({f"{prefix}miou": scores.miou, f"{prefix}pixel_acc": scores.pixel_acc,
                           f"{prefix}mean_class_acc": scores.mean_class_acc, f"{prefix}mean_dice": scores.mean_dice})
            record[f"{prefix}iou_per_class"] = [None if v != v else float(v) for v in scores.iou]
        record["images"] = self.images
        return record
