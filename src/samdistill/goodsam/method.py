"""GoodSAM as a training method: the TA and the student trained by the one engine, the student shipped.

stage `source`: cross-entropy of the student (and the TA, `train_ta`) on labeled pinhole images.
stage `adapt`, one step on a batch of panoramas with SAM's masks of every window:
  1. the labeling TA (`label_ta`: the live TA, its EMA or its frozen stage-1 copy) predicts every sliding
     window (`windows.py`), without gradient and in eval mode, as self-training labels are made;
  2. DAR (b): its labels are refined near SAM borders (`dar.refine_with_boundaries`), then fused
     with the masks into ensemble labels E and high-confidence labels E_H (CTCF, or SSA's
     majority vote as the baseline);
  3. MKA: the student's windows learn E and E_H (patch level) and the refined borders (boundary
     loss), its whole panorama the stitched TA prediction (image level; or stitched E / E_H, `mka.image_target`);
  4. the TA learns E and E_H, and its overlapping windows are made to agree (DAR (a));
  5. both keep a cross-entropy on labeled source images (`weights.source`, 0 = off).
Only the student ships; the TA is saved beside it (`ta.safetensors`) for the next stage.
"""
from __future__ import annotations

import copy
from contextlib import contextmanager
from typing import Any, Iterator

import torch
import torch.nn as nn
import torch.nn.functional as F

from samdistill.data.segmentation.labels import IGNORE_INDEX
from samdistill.goodsam import ctcf as C
from samdistill.goodsam import dar as D
from samdistill.goodsam import mka
from samdistill.goodsam.config import GoodSAMConfig, SegNetConfig
from samdistill.goodsam.label_cache import LabelCache
from samdistill.goodsam.segformer import SegmentationNet
from samdistill.goodsam.windows import WindowGrid
from samdistill.engine.method import Method, StepOutput


def build_net(cfg: SegNetConfig, num_classes: int) -> tuple[SegmentationNet, dict[str, Any]]:
    """(network, registered `segformer` constructor args) from a size, a pretrained folder or an artifact."""
    if cfg.init is not None:
        from samdistill.models.artifact import load_model_artifact

        net = load_model_artifact(cfg.init)
        if not isinstance(net, SegmentationNet) or net.num_classes != num_classes:
            from samdistill.core.errors import CheckpointError

            raise CheckpointError(f"{cfg.init}: not a {num_classes}-class SegFormer artifact")
        return net.train(), {"config": net.segformer.config.to_dict(), "num_classes": num_classes}
    if cfg.pretrained is not None:
        net = SegmentationNet.from_pretrained(cfg.pretrained, num_classes)
        return net, {"config": net.segformer.config.to_dict(), "num_classes": num_classes}
    return SegmentationNet.build(cfg.size, num_classes), {"size": cfg.size, "num_classes": num_classes}


class GoodSAM(Method):
    def __init__(self, cfg: GoodSAMConfig):
        super().__init__()
        self.cfg = cfg
        self.num_classes = int(cfg.classes)
        self.student, self._student_args = build_net(cfg.student, self.num_classes)
        self.ta, self._ta_args = build_net(cfg.ta, self.num_classes)
        if not cfg.train_ta:
            self.ta.requires_grad_(False)
        adapt = cfg.stage == "adapt"
        # the TA's copy that makes the pseudo-labels (`label_ta` ema or frozen); saved in checkpoints for resume.
        # A frozen TA (`train_ta` false) labels itself: no copy needed.
        wants_copy = adapt and (cfg.label_source == "ema" or (cfg.label_source == "frozen" and cfg.train_ta))
        self.ta_copy = copy.deepcopy(self.ta).requires_grad_(False).eval() if wants_copy else None
        # E, E_H and the image target per panorama when the labeler never changes (`label_cache`)
        self.label_cache = LabelCache() if adapt and cfg.label_cache else None
        self._label_counts = torch.zeros(self.num_classes, dtype=torch.float64)  # of E, for class weights
        # MKA feature level (optional): 1x1 projections of the student's stages to the TA's widths
        self.feature_proj = (mka.make_projections(self.student.hidden_sizes, self.ta.hidden_sizes)
                             if adapt and cfg.weights.feature > 0 else None)

    # ------------------------------------------------------------------ training
    def train(self, mode: bool = True) -> "GoodSAM":
        super().train(mode)
        if getattr(self, "ta_copy", None) is not None:
            self.ta_copy.eval()  # labels from the deterministic network (no dropout / drop path)
        if not self.cfg.train_ta:
            self.ta.eval()  # a frozen TA keeps its BatchNorm statistics too
        return self

    def labeler(self) -> nn.Module:
        """The network whose window predictions make E, E_H and the whole-image target."""
        return self.ta_copy if self.ta_copy is not None else self.ta

    def _ta_trains_on_windows(self) -> bool:
        w = self.cfg.weights
        return self.cfg.train_ta and (w.ta_update > 0 or w.consistency > 0)

    @torch.no_grad()
    def on_step_start(self, step: int, trainer: Any) -> None:
        if self.cfg.label_source != "ema" or self.ta_copy is None or step == 0:  # no copy in stage source
            return
        decay = self.cfg.ta_ema
        for ema, live in zip(self.ta_copy.state_dict().values(), self.ta.state_dict().values()):
            if ema.is_floating_point():
                ema.mul_(decay).add_(live.detach(), alpha=1 - decay)
            else:
                ema.copy_(live)

    def forward(self, batch: dict[str, Any]) -> StepOutput:
        if self.cfg.stage == "source":
            return self._source_step(batch)
        return self._adapt_step(batch)

    def _supervised(self, source: dict[str, Any], logs: dict[str, float]) -> torch.Tensor:
        image, label = source["image"], source["label"]
        loss = F.cross_entropy(self.student(image), label, ignore_index=IGNORE_INDEX)
        logs["source_student"] = float(loss.detach())
        if self.cfg.train_ta:
            ta = F.cross_entropy(self.ta(image), label, ignore_index=IGNORE_INDEX)
            logs["source_ta"] = float(ta.detach())
            loss = loss + ta
        return loss

    def _source_step(self, batch: dict[str, Any]) -> StepOutput:
        logs: dict[str, float] = {}
        loss = self._supervised(batch, logs)
        return StepOutput(loss, logs)

    def _adapt_step(self, batch: dict[str, Any]) -> StepOutput:
        cfg, w = self.cfg, self.cfg.weights
        target = batch["target"]
        x, masks = target["image"], target["masks"]  # (B, 3, H, W), (B, K, N, window_h, window)
        b = x.shape[0]
        grid = WindowGrid.for_size(cfg.windows, *x.shape[-2:])
        k = len(grid)
        if masks.shape[1] != k:
            raise ValueError(f"batch has masks for {masks.shape[1]} windows, the window config gives {k}")
        xw = grid.extract(x)  # (B*K, 3, window_h, window)
        features = self.feature_proj is not None
        cached = self.label_cache.get(target["index"], x.device) if self.label_cache is not None else None
        label_logits = ta_feats = None
        if cached is None:
            with torch.no_grad(), _eval_mode(self.labeler()):
                label_logits, ta_feats = (self.labeler().forward_with_features(xw) if features
                                          else (self.labeler()(xw), None))
            labels = self.pseudo_labels(label_logits, masks.flatten(0, 1).bool(), *_mask_classes(target))
            if self.label_cache is not None:
                self.label_cache.put(target["index"], labels, self._image_target(grid, label_logits, labels))
        else:
            labels = cached
        # the TA's own training forward, only when a loss trains the TA through it
        ta_w = self.ta(xw) if self._ta_trains_on_windows() else None
        student_w, student_feats = self.student.forward_with_features(xw) if features else (self.student(xw), None)
        logs: dict[str, float] = {"decided": float((labels["high_conf"] != IGNORE_INDEX).float().mean())}
        cw = self._class_weights(labels["ensemble"]) if cfg.mka.class_weight_power > 0 else None
        terms = {
            "patch": (w.patch, lambda: mka.patch_loss(student_w, labels["ensemble"], labels["high_conf"],
                                                      weight_e=cfg.mka.weight_e, weight_h=cfg.mka.weight_h,
                                                      high_conf_norm=cfg.mka.high_conf_norm, class_weight=cw)),
            "boundary": (w.boundary, lambda: D.boundary_loss(student_w, labels["ensemble"], labels["boundary"],
                                                             cfg.dar.boundary_weight, cfg.dar.boundary_background_weight)),
            "image": (w.image, lambda: self._image_loss(self.student(x), grid, label_logits, labels, cw)
                      if cached is None else mka.image_label_loss(self.student(x), cached["image"], class_weight=cw)),
            "ta_update": (w.ta_update if ta_w is not None else 0.0, lambda: mka.ta_loss(ta_w, labels["ensemble"], labels["high_conf"],
                                                           weight_e=cfg.mka.weight_e, weight_h=cfg.mka.weight_h,
                                                           high_conf_norm=cfg.mka.high_conf_norm)),
            "consistency": (w.consistency if ta_w is not None else 0.0, lambda: D.pairwise_consistency(
                ta_w.unflatten(0, (b, k)), grid.overlaps(),
                kind=cfg.dar.consistency_kind, reduction=cfg.dar.consistency_reduction)),
            "source": (w.source, lambda: self._supervised(batch["source"], logs) if "source" in batch else None),
            "feature": (w.feature, lambda: mka.feature_distillation(student_feats, ta_feats, self.feature_proj)),
        }
        loss = x.new_zeros(())
        for name, (weight, term) in terms.items():
            if weight <= 0:
                continue
            value = term()
            if value is None:
                continue
            logs[name] = float(value.detach())
            loss = loss + weight * value
        return StepOutput(loss, logs)

    def _image_loss(self, student: torch.Tensor, grid: WindowGrid, label_logits: torch.Tensor,
                    labels: dict[str, torch.Tensor], class_weight: torch.Tensor | None = None) -> torch.Tensor:
        m = self.cfg.mka
        if m.image_target == "ta":
            return mka.image_loss(student, grid.stitch(label_logits), kind=m.image_kind, temperature=m.temperature,
                                  class_weight=class_weight)
        return mka.image_label_loss(student, self._image_target(grid, label_logits, labels), class_weight=class_weight)

    def _class_weights(self, ensemble: torch.Tensor) -> torch.Tensor:
        """`mka.class_weight_power`: CE weights from the classes' running frequency in E (this process, since
        the run or its resume started)."""
        valid = ensemble[ensemble != IGNORE_INDEX].flatten().cpu()
        self._label_counts += torch.bincount(valid, minlength=self.num_classes)[: self.num_classes].double()
        return mka.class_weights(self._label_counts, self.cfg.mka.class_weight_power)

    @torch.no_grad()
    def _image_target(self, grid: WindowGrid, label_logits: torch.Tensor,
                      labels: dict[str, torch.Tensor]) -> torch.Tensor:
        """The whole-panorama labels `(B, H, W)` `_image_loss` trains on (hard targets only), for the cache."""
        if self.cfg.mka.image_target == "ta":
            return grid.stitch(label_logits).argmax(1)
        return grid.stitch_labels(labels[self.cfg.mka.image_target], self.num_classes)

    @torch.no_grad()
    def pseudo_labels(self, ta_logits: torch.Tensor, masks: torch.Tensor, mask_class: torch.Tensor | None = None,
                      mask_score: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """E, E_H and the boundary map of every window from the TA's logits `(N, C, h, w)` and SAM's
        masks `(N, M, h, w)` (DAR (b) refinement, then CTCF or the majority vote); `mask_class` /
        `mask_score` `(N, M)`: classes the masks carry (SAM 3; -1 none), used by `ctcf.mask_class_threshold`."""
        cfg = self.cfg
        probs = ta_logits.float().softmax(1).cpu()
        ta_labels = probs.argmax(1)
        masks = masks.cpu()
        n, m_count = masks.shape[:2]
        mask_class = mask_class.cpu() if mask_class is not None else torch.full((n, m_count), -1, dtype=torch.long)
        mask_score = mask_score.cpu() if mask_score is not None else torch.full((n, m_count), float("nan"))
        ensemble, high, boundary = [], [], []
        for p, lab, m, own, score in zip(probs, ta_labels, masks, mask_class, mask_score):
            kept = m.flatten(1).any(1)
            m, own, score = m[kept], own[kept], score[kept]  # drop the zero padding
            if cfg.refine_boundaries and len(m):
                lab = D.refine_with_boundaries(lab, m, band=cfg.dar.boundary_band, fusion=cfg.dar.boundary_fusion,
                                               theta=cfg.ctcf.theta, order=cfg.ctcf.order,
                                               num_classes=self.num_classes)
            if cfg.fusion == "ctcf":
                # probabilities where CTCF needs them (soft coverage, confidence of unmasked pixels), else the
                # refined labels
                ta_in = p if cfg.ctcf.coverage == "soft" or cfg.ctcf.unmasked == "confidence" else lab
                fused = C.ctcf(ta_in, m, num_classes=self.num_classes, own_class=own, own_score=score,
                               **cfg.ctcf.model_dump())
                e, h = fused.labels, fused.high_conf
            elif cfg.fusion == "none":
                e, h = lab, torch.full_like(lab, IGNORE_INDEX)
            else:
                e = C.mask_majority_vote(lab, m, num_classes=self.num_classes, order=cfg.ctcf.order)
                covered = m.any(0) if len(m) else torch.zeros_like(e, dtype=torch.bool)
                h = torch.where(covered, e, torch.full_like(e, IGNORE_INDEX))
            ensemble.append(e)
            high.append(h)
            boundary.append(D.refined_boundary_map(m, lab, mode=cfg.dar.boundary_map, tolerance=cfg.dar.boundary_tolerance)
                            if len(m) else torch.zeros_like(e, dtype=torch.bool))
        device = ta_logits.device
        return {"ensemble": torch.stack(ensemble).to(device), "high_conf": torch.stack(high).to(device),
                "boundary": torch.stack(boundary).to(device)}

    # ------------------------------------------------------------------ validation and shipping
    def segment(self, image: torch.Tensor) -> torch.Tensor:
        """The shipped student on whole images (the Trans4PASS protocol): class logits."""
        return self.student(image)

    def extra_validation(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        return {"ta": self.ta(batch["image"])}

    def validator(self, eval_cfg: Any):
        from samdistill.methods.validation import SegmentationValidator

        return SegmentationValidator(self.num_classes)

    def restore(self, lq: torch.Tensor) -> torch.Tensor:  # pragma: no cover - not a restoration method
        raise NotImplementedError("GoodSAM segments: use segment(image)")

    def shipped_model(self) -> nn.Module:
        return self.student

    def shipped_spec(self) -> tuple[str, dict[str, Any]]:
        return "segformer", dict(self._student_args)

    def extra_artifacts(self) -> dict[str, tuple[nn.Module, str, dict[str, Any]]]:
        return {"ta.safetensors": (self.ta, "segformer", dict(self._ta_args))}


@contextmanager
def _eval_mode(net: nn.Module) -> Iterator[None]:
    """`net` in eval mode for the block, its earlier mode restored after."""
    was_training = net.training
    net.eval()
    try:
        yield
    finally:
        net.train(was_training)


def _mask_classes(target: dict[str, Any]) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """The masks' own classes and scores flattened to windows `(B*K, N)`, when the batch has them."""
    if "mask_class" not in target:
        return None, None
    return target["mask_class"].flatten(0, 1), target["mask_score"].flatten(0, 1)
