"""Config of the GoodSAM recipe (Zhang et al., CVPR 2024): panoramic segmentation without panorama labels.

Two stages through the same trainer: `stage: source` trains the teacher assistant (TA) and a
source-only student on labeled pinhole images; `stage: adapt` adapts both on unlabeled panoramas
with SAM's masks (DAR: window consistency, boundary enhancement, CTCF; MKA: patch, whole-image,
boundary and TA losses). The paper publishes no code and few numbers: every weight and size
below is our choice, documented where it is defined (windows.py, ctcf.py, dar.py, mka.py).
"""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, model_validator

from samdistill.config.base import StrictModel
from samdistill.data.segmentation.config import SegDatasetConfig


# The building blocks' options live here, not beside their code, so loading a config never imports
# torch (the blocks' modules re-export them). Defaults equal the functions' defaults (tested).
Order = Literal["small_on_top", "large_on_top"]
Kind = Literal["kl", "mse", "l1"]


class WindowConfig(StrictModel):
    """Window geometry in pixels (our defaults: the paper's values are not published)."""

    window: int = Field(512, ge=1)  # horizontal window width; 2048x400 DensePASS -> 512x400 windows
    stride: int = Field(384, ge=1)  # 128 px (1/4 window) of overlap between neighbours
    wrap: bool = True  # windows cross the 360° seam
    window_h: Optional[int] = None  # GoodSAM++ vertical sliding: None = full height (horizontal only)
    stride_h: Optional[int] = None  # None = window_h (no vertical overlap)

    @model_validator(mode="after")
    def _overlapping(self) -> "WindowConfig":
        if self.stride > self.window:
            raise ValueError(f"stride {self.stride} > window {self.window}: windows would leave columns unseen")
        return self


class CTCFConfig(StrictModel):
    """The fusion's options; `ctcf(ta, masks, **cfg.model_dump())` (defaults equal the function's)."""

    theta: float = 0.5
    order: Order = "small_on_top"
    undecided: Literal["claim", "skip"] = "claim"
    unmasked: Literal["zero", "one", "confidence"] = "zero"
    confidence_threshold: float = 0.9
    coverage: Literal["hard", "soft"] = "hard"
    # masks that carry a class (SAM 3, `priors.backend: sam3`): take it when its score >= this, else the
    # TA's vote; None (default) ignores mask classes, as the paper's class-less SAM masks
    mask_class_threshold: Optional[float] = None


class DARConfig(StrictModel):
    """Options of the consistency and boundary parts (defaults equal the functions')."""

    consistency_kind: Kind = "kl"
    consistency_reduction: Literal["mean", "sum"] = "mean"
    boundary_band: int = 2  # px around a SAM border where the SAM region's class wins
    boundary_fusion: Literal["majority", "ctcf"] = "majority"
    boundary_map: Literal["sam_and_ta", "sam", "ta", "union"] = "sam_and_ta"
    boundary_tolerance: int = 2  # px: a SAM border this close to a TA border separates classes
    boundary_weight: float = 5.0
    boundary_background_weight: float = 1.0


class MKAConfig(StrictModel):
    """Options of the patch and image losses (defaults equal the functions')."""

    weight_e: float = 1.0
    weight_h: float = 1.0
    high_conf_norm: Literal["own", "all"] = "own"
    image_kind: Literal["ce_hard", "kl_soft"] = "ce_hard"
    temperature: float = 1.0
    # the whole-panorama target: the stitched TA prediction (paper), or the stitched ensemble labels E /
    # high-confidence labels E_H (columns seen by two windows vote; pixels no window decides are ignored)
    image_target: Literal["ta", "ensemble", "high_conf"] = "ta"
    # class-balanced pseudo-labels: CE weights f_c^-power from the classes' running frequency in E (0: off)
    class_weight_power: float = Field(0.0, ge=0, le=1)


class SegNetConfig(StrictModel):
    """A SegFormer: a named size with random weights, a local pretrained folder, or a stage-1 artifact."""

    size: str = Field("b0", description="tiny | mini | b0..b5 (see goodsam/segformer.py)")
    pretrained: Optional[str] = Field(
        None, description="local Hugging Face SegFormer folder (e.g. a downloaded nvidia/segformer-b5-... or "
        "nvidia/mit-b0); its classifier is re-created when the class count differs")
    init: Optional[str] = Field(
        None, description="a samdistill model file to start from: a stage-1 run's model.safetensors (student) or "
        "ta.safetensors (TA)")


class GoodSAMDataConfig(StrictModel):
    source: SegDatasetConfig = Field(
        default_factory=lambda: SegDatasetConfig(layout="cityscapes", root="embedded-street", split="train"),
        description="labeled pinhole images (Cityscapes)")
    target: SegDatasetConfig = Field(
        default_factory=lambda: SegDatasetConfig(layout="densepass", root="embedded-pano", split="train"),
        description="unlabeled panoramas (DensePASS train / WildPASS)")
    val: Optional[SegDatasetConfig] = Field(
        default_factory=lambda: SegDatasetConfig(layout="densepass", root="embedded-pano", split="val"),
        description="labeled panoramas to score on (DensePASS' 100 test panoramas)")
    source_crop: Optional[tuple[int, int]] = Field(
        (128, 128), description="(height, width) random crop of source images; null: whole images")
    batch_size: int = Field(4, ge=1, description="source images per step and process")
    target_batch_size: int = Field(2, ge=1, description="panoramas per adaptation step and process")
    num_workers: int = Field(0, ge=0)
    val_limit: Optional[int] = Field(None, ge=1, description="score the first N validation panoramas only")
    num_masks: int = Field(64, ge=1, description="SAM masks kept per window (the largest)")
    masks_per_window: Optional[bool] = Field(
        None, description="segment every window as its own image (true: SAM sees it at full resolution) or the "
        "whole panorama once, masks cut to the windows (false); null: true, except false for priors.backend=world "
        "(the ideal masks exist for whole rendered images)")

    @model_validator(mode="after")
    def _role_defaults(self) -> "GoodSAMDataConfig":
        # `goodsam.data.target.root=X` alone must still mean the unlabeled DensePASS train panoramas,
        # not SegDatasetConfig's generic defaults (cityscapes, val)
        roles = {"source": ("cityscapes", "train"), "target": ("densepass", "train"), "val": ("densepass", "val")}
        for role, (layout, split) in roles.items():
            ds = getattr(self, role)
            if ds is None:
                continue
            if "layout" not in ds.model_fields_set:
                ds.layout = layout
            if "split" not in ds.model_fields_set:
                ds.split = split
        return self


class LossWeights(StrictModel):
    """Weights of the adaptation losses (ours; the paper gives none)."""

    patch: float = Field(1.0, ge=0, description="MKA patch level: student windows vs E and E_H")
    image: float = Field(0.5, ge=0, description="MKA image level: student panorama vs the stitched TA prediction")
    boundary: float = Field(0.5, ge=0, description="DAR (b): boundary-weighted CE of the student vs E")
    consistency: float = Field(0.1, ge=0, description="DAR (a): TA predictions agree on overlapping windows")
    ta_update: float = Field(1.0, ge=0, description="the TA trained with CE vs E and E_H")
    source: float = Field(1.0, ge=0, description="student and TA keep learning from labeled source images (0: off)")
    feature: float = Field(0.0, ge=0, description="MKA feature level (optional): student encoder vs TA encoder")


class GoodSAMConfig(StrictModel):
    stage: Literal["source", "adapt"] = Field(
        "adapt", description="source: train TA and student on labeled source images; adapt: GoodSAM on panoramas")
    classes: Literal[19, 13] = Field(19, description="19 Cityscapes classes or the CS13->DP13 protocol")
    student: SegNetConfig = Field(default_factory=lambda: SegNetConfig(size="b0"))
    ta: SegNetConfig = Field(default_factory=lambda: SegNetConfig(size="mini"),
                             description="teacher assistant; the paper's is SegFormer-B5-like (size: b5)")
    train_ta: bool = Field(
        True, description="train the TA: in stage source on labeled images (false: it is loaded, pretrained); in "
        "stage adapt with ta_update, consistency and the source cross-entropy (false: the TA is frozen - no update, "
        "always in eval mode, so its BatchNorm statistics do not move either)")
    label_ta: Optional[Literal["live", "ema", "frozen"]] = Field(
        None, description="adapt stage: which TA state makes the pseudo-labels (E, E_H) and the whole-image target "
        "- the paper leaves it open. live: the TA being adapted; ema: an exponential moving average of it (decay "
        "`ta_ema`, a mean teacher as in DAFormer-style self-training); frozen: the TA as it started (stage 1). "
        "Always computed without gradient and in eval mode (no dropout, drop path or batch statistics). "
        "null: ema when ta_ema > 0, else live")
    ta_ema: float = Field(
        0.0, ge=0, lt=1, description="decay of the EMA TA that makes the labels with label_ta=ema "
        "(ema <- decay*ema + (1-decay)*ta before each step, starting from the stage-1 TA); 0: no EMA copy")
    label_cache: bool = Field(
        False, description="adapt stage: compute each panorama's E, E_H and whole-image target once and reuse them "
        "(goodsam/label_cache.py). Needs a labeler that never changes (train_ta=false, or label_ta=frozen), hard "
        "image targets (mka.image_kind=ce_hard) and no feature distillation; saves the labeler's forward and the "
        "CPU fusion on every later epoch. Memory: 3 uint8 maps per window + 1 per panorama, for every target image")
    windows: WindowConfig = Field(default_factory=WindowConfig)
    fusion: Literal["ctcf", "majority", "none"] = Field(
        "ctcf", description="how SAM masks and TA predictions make the ensemble labels: CTCF (paper) or "
        "Semantic-Segment-Anything's majority vote (baseline; every masked pixel counts as high-confidence); "
        "none: no mask fusion, E = the TA's (boundary-refined) window labels and no E_H (Table 2's windows-only row)")
    refine_boundaries: bool = Field(True, description="DAR (b): labels near SAM borders take their SAM region's class")
    ctcf: CTCFConfig = Field(default_factory=CTCFConfig)
    dar: DARConfig = Field(default_factory=DARConfig)
    mka: MKAConfig = Field(default_factory=MKAConfig)
    weights: LossWeights = Field(default_factory=LossWeights)
    data: GoodSAMDataConfig = Field(default_factory=GoodSAMDataConfig)

    @property
    def label_source(self) -> str:
        """The TA state that labels (`label_ta` resolved)."""
        return self.label_ta or ("ema" if self.ta_ema > 0 else "live")

    @model_validator(mode="after")
    def _labels_and_frozen_ta(self) -> "GoodSAMConfig":
        if self.label_ta == "ema" and self.ta_ema == 0:
            raise ValueError("label_ta=ema needs ta_ema > 0 (the EMA decay, e.g. 0.99)")
        if self.label_ta in ("live", "frozen") and self.ta_ema > 0:
            raise ValueError(f"ta_ema={self.ta_ema} is only used with label_ta=ema, not label_ta={self.label_ta}")
        w = self.weights
        if self.mka.class_weight_power > 0 and w.image > 0 and self.mka.image_kind != "ce_hard":
            raise ValueError("mka.class_weight_power weights cross-entropies: mka.image_kind=kl_soft has none "
                             "(use ce_hard, or weights.image=0)")
        if self.label_cache:
            if self.train_ta and self.label_source != "frozen":
                raise ValueError(f"label_cache needs labels that never change: train_ta=false or label_ta=frozen, "
                                 f"not label_ta={self.label_source} with train_ta=true")
            if w.feature > 0:
                raise ValueError("label_cache keeps labels, not the TA's features: set weights.feature=0")
            if w.image > 0 and self.mka.image_kind != "ce_hard":
                raise ValueError(f"label_cache keeps hard image targets: mka.image_kind={self.mka.image_kind!r} needs "
                                 "the TA's logits (use ce_hard or label_cache=false)")
        if self.stage == "adapt" and not self.train_ta and (w.ta_update > 0 or w.consistency > 0):
            raise ValueError("train_ta=false freezes the TA, but weights.ta_update / weights.consistency only train "
                             "it: set both to 0")
        return self
