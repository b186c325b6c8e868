"""How good are the pseudo-labels? The labeling TA's own window predictions (`GoodSAM.labeler`, eval mode), the ensemble labels E and the
high-confidence labels E_H scored against the ground truth of labeled panoramas.

Each window is scored on its own pixels (columns seen by two windows count twice, as the losses
see them). E_H is scored where it is decided, and its coverage (the share of labeled pixels it
decides) is reported beside: a fusion can trade coverage for accuracy.
"""
from __future__ import annotations

from typing import Any, Iterable

import torch

from samdistill.data.segmentation.labels import IGNORE_INDEX
from samdistill.goodsam.windows import WindowGrid
from samdistill.metrics.segmentation import ConfusionMatrix


@torch.no_grad()
def pseudo_label_scores(method: Any, batches: Iterable[dict]) -> dict[str, Any]:
    """`method`: a GoodSAM method (its TA, window and fusion settings); batches from a
    `PanoramaWindows` over labeled panoramas (image, masks, label)."""
    cfg, n = method.cfg, method.num_classes
    cms = {key: ConfusionMatrix(n) for key in ("ta", "ensemble", "high_conf")}
    covered = labeled = 0
    was_training = method.training
    method.eval()
    for batch in batches:
        x, masks, label = batch["image"], batch["masks"], batch["label"]
        grid = WindowGrid.for_size(cfg.windows, *x.shape[-2:])
        xw, truth = grid.extract(x), grid.extract(label)
        logits = method.labeler()(xw)
        labels = method.pseudo_labels(logits, masks.flatten(0, 1).bool(), batch["mask_class"].flatten(0, 1),
                                      batch["mask_score"].flatten(0, 1))
        cms["ta"].update(logits.argmax(1), truth)
        cms["ensemble"].update(labels["ensemble"], truth)
        decided = labels["high_conf"] != IGNORE_INDEX
        cms["high_conf"].update(labels["high_conf"][decided], truth[decided])
        valid = truth != IGNORE_INDEX
        covered += int((decided & valid).sum())
        labeled += int(valid.sum())
    method.train(was_training)
    out = {f"{key}_miou": cm.compute().miou for key, cm in cms.items()}
    out.update({f"{key}_pixel_acc": cm.compute().pixel_acc for key, cm in cms.items()})
    out.update({f"{key}_classes": [None if v != v else float(v) for v in cm.compute().iou] for key, cm in cms.items()})
    out["high_conf_coverage"] = covered / max(labeled, 1)
    return out
