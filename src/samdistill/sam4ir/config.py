"""Config of the SAM4IR framework (Zhang et al., CVPR 2024). Defaults follow the paper.

Table 5 rows map to: baseline (enabled: false); +IR2 cascade (spf.enabled: false, spd/sgr off);
+SPF; +SPD; +SGR; +SGR with a non-SAM prior (priors.backend: offline).
"""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, model_validator

from samdistill.config.base import StrictModel


class SPFConfig(StrictModel):
    """Semantic Prior Fusion units inserted into IR2 (paper eq. 3, Fig. 3)."""

    enabled: bool = True
    attach_points: Optional[list[str]] = Field(
        None,
        description="module paths of IR2's building blocks (one SPF unit each); "
        "default: the backbone's declared `spf_attach_points`",
    )
    hidden_channels: Optional[int] = Field(
        None, ge=1, description="width of the two conv blocks (default: the block's own width)"
    )
    max_hidden_channels: Optional[int] = Field(
        128, ge=1,
        description="cap on that width (null: none): a unit on a 256/512-channel block mixes at this width, its "
        "output projection and attention stay at the block's width. The prior is 3 + 16 channels; the cap makes "
        "wide networks' SAM4IR step cheaper (docs/sam4ir_measurements.md) and leaves networks no wider than 128 "
        "(nafnet_tiny, the embedded measurements) unchanged",
    )
    attention: Literal["spatial_channel", "spatial", "channel"] = Field(
        "spatial_channel",
        description="Semantic Selection Attention map: conv->sigmoid per pixel and channel "
        "(paper: 'dot product' with an attention map; its form is unstated)",
    )
    resize_mode: Literal["bilinear", "nearest", "area"] = Field(
        "bilinear", description="how the previous SPF output is resized to the block's resolution"
    )
    fusion: Literal["chain", "injected"] = Field(
        "chain",
        description="chain: eq. 3 as printed, [I1, M] enters the first unit and later units see it through "
        "F_{i-1}^SPF; injected: every unit also gets the resized [I1, M] (our extension of eq. 3: picks the prior "
        "up faster in short runs, same result at 400 steps, +7-9% IR2 time)",
    )
    residual: bool = Field(
        True, description="output F_i + SSA(fused) (our choice) instead of SSA(fused) alone"
    )
    zero_init: bool = Field(
        True,
        description="the unit's last projection starts at 0, so IR2 starts as the plain backbone and learns to use "
        "the priors (needs residual: true); false: default init, the unit perturbs IR2 from the first step",
    )
    probe_size: int = Field(
        0, ge=0, description="side of the dummy input used to discover blocks (0: 2x the backbone's pad_multiple, min 64)"
    )

    @model_validator(mode="after")
    def _identity_start(self) -> "SPFConfig":
        if self.zero_init and not self.residual:
            raise ValueError("spf.zero_init needs spf.residual: true (a unit that replaces F_i cannot start "
                             "as the identity); set zero_init: false for the replacing unit")
        return self


class SPDConfig(StrictModel):
    """Semantic Prior Distillation: smooth-L1(I1, stopgrad(I2)) (paper eq. 4)."""

    enabled: bool = True
    weight: float = Field(0.005, ge=0, description="lambda_1 (paper Table 6: 0.005)")
    beta: float = Field(1.0, gt=0, description="smooth-L1 transition point (paper: 1)")
    pixel_scale: float = Field(
        255.0, gt=0,
        description="intensity scale at which eq. 4 is evaluated: 255 (images in [0,255], as RCDNet trains: "
        "L1-like beyond one gray level, lambda_1=0.005 makes SPD as strong as L1) or 1 ([0,1] images: with "
        "beta=1 a quadratic whose gradient is ~1e-4 of L1's, SPD does nothing). The paper does not say",
    )
    gate: Literal["teacher_closer", "none"] = Field(
        "teacher_closer",
        description="teacher_closer: distil only pixels where I2 is closer to GT than I1 (a training-time gate; "
        "keeps the 255-scale cascade stable); none: every pixel, eq. 4 as printed",
    )
    target: Literal["teacher", "gt"] = Field(
        "teacher",
        description="what the distilled pixels pull I1 towards: teacher (I2, eq. 4); gt: a control that keeps the "
        "gate's choice of pixels and drops the teacher's values (with teacher_closer, SPD's direction is "
        "the GT pull's anyway: tests/sam4ir/test_spd_transfer.py)",
    )


class SGRConfig(StrictModel):
    """Semantic-Guided Relation loss over VGG features masked by the priors (paper eqs. 5-7)."""

    enabled: bool = True
    weight: float = Field(200.0, ge=0, description="lambda_2 (paper Table 6: 200)")
    features: Literal["vgg16", "vgg19", "random_conv", "street_conv"] = Field(
        "vgg16",
        description="frozen feature extractor (512 ch at H/8). random_conv: an offline, weight-free "
        "stand-in used only when explicitly chosen (no pretrained VGG on the machine); street_conv: the same "
        "small network trained on the street world's labels (benchmarks/sgr_standin.py; features that know "
        "the world's classes, a stand-in for VGG's semantics, weights in vgg_weights)",
    )
    vgg_weights: Optional[str] = Field(
        None, description="path to the feature extractor's weights: torchvision-format VGG (vgg16-397923af.pth "
        "or .safetensors), or for street_conv the stand-in's .safetensors"
    )
    relation: Literal["pooled", "masked_map"] = Field(
        "pooled",
        description="pooled: cosine of mask-pooled descriptors F·m (the 'dot product' read as matrix-vector; "
        "compares regions' semantics, defined for disjoint masks, needed for the paper's PSPNet row); "
        "masked_map: cosine of flattened F⊙m maps, which depends only on per-pixel feature energy and is 0 "
        "between disjoint masks",
    )
    distance: Literal["squared", "abs"] = Field(
        "squared",
        description="per-pair distance of relations: squared (the 'L2 loss'; lambda_2 = 200 is read against it) "
        "or abs (|R1-R2|, ‖·‖₂ of a scalar): 1/|R1-R2| times larger at equal lambda_2 (~20x at 0.05), lower "
        "lambda_2 with it",
    )
    mask_resize: Literal["area", "nearest", "bilinear"] = Field(
        "area", description="how priors are brought to H/8 (area keeps soft coverage)"
    )
    min_mask_pixels: float = Field(
        1e-6, ge=0, description="masks with less total weight at H/8 are excluded as padding"
    )


class OracleConfig(StrictModel):
    """The `oracle` prior (spf_prior: oracle): GT degraded by a blur and noise (sam4ir/oracle.py)."""

    blur_sigma: float = Field(1.0, ge=0, description="Gaussian blur of GT, pixels (0: none)")
    noise_sigma: float = Field(
        0.03, ge=0, description="Gaussian noise added after the blur, on the [0,1] scale (0: none)"
    )


class SAM4IRConfig(StrictModel):
    enabled: bool = Field(False, description="false: train IR1 alone (the paper's baseline row)")
    cascade: bool = Field(True, description="train IR2 behind IR1 (Table 5 '+ f_IR2')")
    prior_source: Literal["restored", "lq", "gt"] = Field(
        "restored",
        description="restored: SAM(IR1(LQ)) refreshed every refresh_every steps (paper eq. 2); "
        "lq / gt: computed once and cached (gt is privileged, training-time only)",
    )
    refresh_every: int = Field(
        500, ge=1, description="restored priors: recompute masks of IR1's output every K steps"
    )
    restored_prior_warmup: Optional[int] = Field(
        None, ge=0,
        description="restored priors: the first IR1 snapshot is taken at this step (then every refresh_every); "
        "until then masks come from the LQ image, not from an untrained IR1 (EfficientDerain starts near-black). "
        "null: refresh_every (the first refresh); 0: from the start",
    )
    restored_refresh: Literal["processes", "workers"] = Field(
        "processes",
        description="restored priors: processes: at each refresh the training processes restore and segment the "
        "set in batches on their accelerator, sharded, and DataLoader workers only read the stored masks; "
        "workers: every data worker runs IR1 (CPU) and the segmenter on each item it loads",
    )
    refresh_batch_size: int = Field(8, ge=1, description="restored_refresh: processes: images per IR1/segmenter batch")
    refresh_fraction: float = Field(
        1.0, gt=0, le=1,
        description="restored priors (restored_refresh: processes): share of the pairs a refresh re-segments. The "
        "first refresh does all; each later one does the next of ceil(1/f) interleaved shares in turn, so a pair's "
        "masks are at most ceil(1/f) refreshes old and the segmenter's work drops about 1/f-fold "
        "(`samdistill priors plan` prints the count)",
    )
    ir2_input: Literal["restored", "lq"] = Field(
        "restored", description="what IR2 restores: IR1's output (paper's cascade) or the LQ image"
    )
    detach_ir1_for_ir2: bool = Field(
        True, description="IR2's reconstruction loss does not flow back into IR1 (IR1 trained by eq. 8 only)"
    )
    distill_start_step: int = Field(
        0, ge=0,
        description="SPD and SGR act on IR1 from this step on (0: from the start, the paper's joint "
        "training); later lets IR2 first become a better teacher than IR1",
    )
    spf_prior: Literal["masks", "oracle"] = Field(
        "masks",
        description="what SPF fuses with I1 as the prior: masks (the paper's M, from prior_source); oracle: a "
        "degraded copy of GT (sam4ir.oracle), a privileged teacher for experiments that test whether SPD/SGR "
        "transfer a teacher's lead to IR1 apart from mask quality (training-time only, never the shipped IR1; "
        "SGR still reads the masks)",
    )
    oracle: OracleConfig = Field(default_factory=OracleConfig)
    spf: SPFConfig = Field(default_factory=SPFConfig)
    spd: SPDConfig = Field(default_factory=SPDConfig)
    sgr: SGRConfig = Field(default_factory=SGRConfig)

    @property
    def snapshot_start(self) -> int:
        """Step of the first IR1 snapshot (restored priors)."""
        return self.refresh_every if self.restored_prior_warmup is None else self.restored_prior_warmup

    @property
    def uses_masks(self) -> bool:
        """Whether the run needs SAM's masks (SPF fusing masks, or SGR): the one rule that decides
        whether a prior provider is built and batches carry masks."""
        return self.enabled and self.cascade and ((self.spf.enabled and self.spf_prior == "masks") or self.sgr.enabled)

    def snapshot_due(self, step: int) -> bool:
        start = self.snapshot_start
        return step >= start and (step - start) % self.refresh_every == 0

    @model_validator(mode="after")
    def _consistent(self) -> "SAM4IRConfig":
        if self.enabled and not self.cascade and (self.spf.enabled or self.spd.enabled or self.sgr.enabled):
            raise ValueError("spf/spd/sgr need the IR2 cascade: set cascade: true or disable them")
        if self.refresh_fraction < 1 and self.restored_refresh == "workers":
            raise ValueError("refresh_fraction < 1 needs restored_refresh: processes (workers segment every item "
                             "they load)")
        if self.spf_prior == "oracle" and not (self.cascade and self.spf.enabled):
            raise ValueError("spf_prior: oracle reaches IR2 through its SPF units: set cascade: true and "
                             "spf.enabled: true (or spf_prior: masks)")
        return self
