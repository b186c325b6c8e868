"""Config of the semantic-prior subsystem: which segmenter, its parameters, encoding, cache."""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, field_validator, model_validator

from samdistill.config.base import StrictModel
from samdistill.core.labels import CLASS_NAMES


class AMGConfig(StrictModel):
    """segment-anything's SamAutomaticMaskGenerator parameters, same names and defaults."""

    points_per_side: int = Field(32, ge=1)
    points_per_batch: int = Field(64, ge=1)
    pred_iou_thresh: float = Field(0.88, ge=0, description="predicted IoU can exceed 1, so no upper bound")
    stability_score_thresh: float = Field(0.95, ge=0, le=1)
    stability_score_offset: float = Field(1.0, ge=0)
    mask_threshold: float = 0.0
    box_nms_thresh: float = Field(0.7, ge=0, le=1)
    crop_n_layers: int = Field(0, ge=0)
    crop_nms_thresh: float = Field(0.7, ge=0, le=1)
    crop_overlap_ratio: float = Field(512 / 1500, ge=0, lt=1)
    crop_n_points_downscale_factor: int = Field(1, ge=1)
    min_mask_region_area: int = Field(0, ge=0)


class SAMConfig(StrictModel):
    checkpoint: Optional[str] = Field(
        None,
        description="local Hugging Face SAM directory, or an official sam_vit_{b,l,h}_*.pth file",
    )
    device: str = Field("auto", description="auto | cpu | cuda | cuda:N")
    dtype: Literal["float32", "float16", "bfloat16"] = "float32"
    amg: AMGConfig = Field(default_factory=AMGConfig)


# Named AMG presets: the automatic mask generators' published defaults, where they differ from
# AMGConfig's (segment-anything's). SAM 2's SAM2AutomaticMaskGenerator lowers pred_iou_thresh to
# 0.8 and keeps everything else (32 points per side, stability 0.95, mask threshold 0, box NMS
# 0.7, no crops, multimask output, no mask-to-mask refinement).
AMG_PRESETS: dict[str, dict] = {"sam": {}, "sam2": {"pred_iou_thresh": 0.8}}


class SAM2Config(StrictModel):
    """SAM 2 / 2.1 image model (transformers' Sam2Model) driven by our automatic mask generator."""

    checkpoint: Optional[str] = Field(
        None, description="local Hugging Face Sam2Model directory (config.json model_type sam2 + weights), or an "
        "official sam2.1_hiera_*.pt / sam2_hiera_*.pt checkpoint (converted on load; optional <name>.json side-car "
        "of Sam2Config overrides for unreleased architectures)"
    )
    device: str = Field("auto", description="auto | cpu | cuda | cuda:N")
    dtype: Literal["float32", "float16", "bfloat16"] = "float32"
    amg_preset: Literal["sam2", "sam"] = Field(
        "sam2",
        description="defaults of the amg keys not given: sam2 = SAM 2's automatic mask generator "
        "(pred_iou_thresh 0.8), sam = segment-anything's (0.88); set keys always win",
    )
    multimask_output: bool = Field(True, description="3 masks per point prompt (SAM 2's AMG default), else 1")
    amg: AMGConfig = Field(default_factory=AMGConfig)

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data):
        """Fill the amg keys the user did not give from the preset (so a dumped config, which
        holds every key, reloads to the same values whatever the preset says)."""
        if not isinstance(data, dict):
            return data
        preset = AMG_PRESETS.get(data.get("amg_preset", "sam2"))
        if preset is None:
            return data  # the Literal check reports it
        amg = data.get("amg")
        given = amg.model_dump(exclude_unset=True) if isinstance(amg, AMGConfig) else dict(amg or {})
        if not isinstance(amg, (AMGConfig, dict, type(None))):
            return data
        return {**data, "amg": {**preset, **given}}


# Cityscapes' 19 training classes, in trainId order (the label table's, core/labels.py).
CITYSCAPES_CLASSES = CLASS_NAMES


class SAM3Config(StrictModel):
    """SAM 3 image model (transformers' Sam3Model) prompted with class names (concepts)."""

    checkpoint: Optional[str] = Field(
        None, description="local Hugging Face Sam3Model directory (config.json model_type sam3 + weights + "
        "its CLIP tokenizer files: tokenizer.json or vocab.json + merges.txt)"
    )
    device: str = Field("auto", description="auto | cpu | cuda | cuda:N")
    dtype: Literal["float32", "float16", "bfloat16"] = "float32"
    classes: list[str] = Field(
        list(CITYSCAPES_CLASSES), min_length=1,
        description="concept prompts, one per class; a mask's class id is its index here (default: the "
        "Cityscapes 19 in trainId order)",
    )
    score_threshold: float = Field(
        0.3, ge=0, le=1, description="keep an instance when sigmoid(logit) x sigmoid(presence) exceeds this "
        "(transformers' post_process_instance_segmentation default)",
    )
    mask_threshold: float = Field(0.5, ge=0, le=1, description="binarize sigmoid(mask logits), resized to the image")

    @field_validator("classes")
    @classmethod
    def _distinct_names(cls, v: list[str]) -> list[str]:
        if any(not c.strip() for c in v) or len(set(v)) != len(v):
            raise ValueError(f"class names must be non-empty and distinct, got {v}")
        return v


class OfflineSegmenterConfig(StrictModel):
    """Classical segment-everything (scikit-image) used when no SAM checkpoint is configured."""

    method: Literal["felzenszwalb", "slic"] = "felzenszwalb"
    scale: float = Field(100.0, gt=0, description="felzenszwalb: larger = bigger segments")
    sigma: float = Field(0.8, ge=0, description="felzenszwalb/slic: Gaussian pre-smoothing")
    min_size: int = Field(50, ge=1, description="felzenszwalb: minimum component size (pixels)")
    n_segments: int = Field(32, ge=1, description="slic: approximate number of segments")
    compactness: float = Field(10.0, gt=0, description="slic: color vs space trade-off")
    extra_scales: list[float] = Field(
        [],
        description="felzenszwalb: coarser scales whose segments are added to the `scale` partition, "
        "so masks overlap and nest (object / part) like SAM's multi-granularity output; [] = one "
        "partition (disjoint masks, on which SGR's masked_map relations are all zero)",
    )

    @field_validator("extra_scales")
    @classmethod
    def _positive_scales(cls, v: list[float]) -> list[float]:
        if any(s <= 0 for s in v):
            raise ValueError(f"every extra scale must be > 0, got {v}")
        return v


class WorldSegmenterConfig(StrictModel):
    """The street world's ideal segmenter: the renderer's exact object and part masks."""

    roots: list[str] = Field(
        [],
        description="folders holding a world_index.npz (a `samdistill data world` output's pinhole/ or pano/, "
        "or an embedded-street-* benchmark); [] = every street-world folder in the embedded cache",
    )
    parts: bool = Field(True, description="add part masks (windows, wheels, heads, ...) nested in their objects")
    min_area: int = Field(0, ge=0, description="drop masks smaller than this many pixels")
    min_correlation: float = Field(
        0.75, gt=0, le=1,
        description="an image that is not a rendered one (degraded, restored) is matched to the indexed image "
        "of the same size whose thumbnail correlates best, if at least this well",
    )
    min_margin: float = Field(
        0.05, ge=0, le=1,
        description="...and better than the second best by this much (else the match is ambiguous: an error)",
    )


class PriorsConfig(StrictModel):
    backend: Literal["auto", "sam", "sam2", "sam3", "offline", "world"] = Field(
        "auto", description="auto: SAM if sam.checkpoint is set, else the offline segmenter (never sam2); sam2: SAM 2 / 2.1 "
        "(sam2.checkpoint); sam3: SAM 3 prompted with sam3.classes (masks carry a class id); world: the "
        "street world's exact masks (an ideal SAM, for rendered images only). A checkpoint set for a backend "
        "that does not run (priors.sam.checkpoint with backend offline) is an error, never ignored"
    )
    sam: SAMConfig = Field(default_factory=SAMConfig)
    sam2: SAM2Config = Field(default_factory=SAM2Config)
    sam3: SAM3Config = Field(default_factory=SAM3Config)
    offline: OfflineSegmenterConfig = Field(default_factory=OfflineSegmenterConfig)
    world: WorldSegmenterConfig = Field(default_factory=WorldSegmenterConfig)
    encoding: Literal["channels", "gray", "label", "boundary", "region_mean", "region_label"] = Field(
        "channels",
        description="channels: N binary masks by area (largest first); gray: one gray-coded channel "
        "(SAM-Deblur style); label: integer map; boundary: mask edges; region_mean: I1's mean color over "
        "each region of constant mask membership (3 channels); region_label: those regions ranked by area. "
        "boundary, region_mean and region_label do not depend on the order of the masks",
    )
    num_masks: int = Field(16, ge=1, description="N, channels kept (padding with zeros)")
    select: Literal["crop", "image"] = Field(
        "crop",
        description="crop: the N largest masks inside each training crop (from the image's crop_candidates "
        "largest); image: the N largest of the whole image, then cropped (many channels then miss a small "
        "crop or cover all of it)",
    )
    val_select: Literal["tiles", "image"] = Field(
        "tiles",
        description="select: crop, on full images (validation): tiles: the image is cut into tiles of the training "
        "crop size (data.crop_size) and each tile gets the N largest masks inside it, the masks a training crop "
        "there gets; image: the N largest of the whole image (coarser masks than IR2 trained on). Restoring and "
        "evaluating the shipped IR1 need no masks",
    )
    crop_candidates: int = Field(
        64, ge=0, description="select: crop: masks of the whole image (largest first) a crop chooses from; 0: all"
    )
    drop_full_masks: bool = Field(
        True, description="select: crop: a mask covering the whole crop (a constant channel) is not chosen"
    )
    cache_dir: Optional[str] = Field(None, description="mask cache (default ~/.cache/samdistill/masks)")


def resolved_backend(priors_cfg: PriorsConfig) -> str:
    """The backend `build_segmenter` builds: `auto` is `sam` when `priors.sam.checkpoint` is set,
    else `offline` (auto never picks sam2 / sam3: those are chosen by name). A reading of the config
    alone, so the start-up summary (`config/run_setup.py`) names it without importing a segmenter."""
    if priors_cfg.backend == "auto":
        return "sam" if priors_cfg.sam.checkpoint is not None else "offline"
    return priors_cfg.backend
