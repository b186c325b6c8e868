"""The SAM4IR training method: IR1 (ships) + IR2 with SPF (teacher) + SPD + SGR (paper eq. 8).

    L(IR1) = L1_recon + λ1·L_SPD + λ2·L_SGR        L(IR2) = L2_recon
SPD and SGR see stop-gradient(I2), so they only train IR1; IR2's input I1 is detached so its
reconstruction loss only trains IR2 (and the SPF units). SAM and VGG are frozen.
"""
from __future__ import annotations

from typing import Any, Optional

import torch
import torch.nn as nn

from samdistill.methods.base import Method, StepOutput
from samdistill.methods.losses import build_reconstruction
from samdistill.models.registry import create_backbone, pad_multiple, spf_attach_points
from samdistill.priors.encodings import encode, encoded_channels
from samdistill.sam4ir.config import SAM4IRConfig
from samdistill.sam4ir.oracle import oracle_prior
from samdistill.sam4ir.sgr import sgr_loss
from samdistill.sam4ir.spd import spd_loss
from samdistill.sam4ir.spf import SPFFusion
from samdistill.sam4ir.vgg import build_relation_features


class SAM4IRMethod(Method):
    def __init__(self, backbone: str, backbone_args: dict[str, Any], cfg: SAM4IRConfig, loss_cfg,
                 encoding: str = "channels", num_masks: int = 16, seed: int = 0):
        super().__init__()
        self.backbone, self.backbone_args, self.cfg = backbone, dict(backbone_args), cfg
        self.encoding, self.num_masks = encoding, num_masks
        self.reconstruct = build_reconstruction(loss_cfg)
        self.ir1 = create_backbone(backbone, **self.backbone_args)
        self.ir2: Optional[nn.Module] = create_backbone(backbone, **self.backbone_args) if cfg.cascade else None
        self.spf: Optional[SPFFusion] = None
        if self.ir2 is not None and cfg.spf.enabled:
            paths = cfg.spf.attach_points or spf_attach_points(self.ir2)
            probe = cfg.spf.probe_size or max(64, 2 * pad_multiple(self.ir2))
            s = cfg.spf
            prior_channels = 3 if cfg.spf_prior == "oracle" else encoded_channels(encoding, num_masks)
            self.spf = SPFFusion(self.ir2, paths, prior_channels, s.hidden_channels,
                                 s.attention, s.resize_mode, s.residual, probe, fusion=s.fusion,
                                 zero_init=s.zero_init, pad_multiple=pad_multiple(self.ir2),
                                 max_hidden=s.max_hidden_channels)
        self.step = 0  # optimizer steps done, set by the engine through on_step_start
        self.prior_datasets: list = []  # datasets whose priors a refresh makes (build_sam4ir_method)
        self._refresher = None  # sam4ir/refresh.py's PriorRefresher, built at the first refresh
        self.last_refresh = None  # its RefreshStats
        self._first_step = True
        self.relation_net = None
        if self.ir2 is not None and cfg.sgr.enabled:
            self.relation_net = build_relation_features(cfg.sgr.features, cfg.sgr.vgg_weights, seed)

    # --- Method contract -------------------------------------------------------------------
    def frozen_prefixes(self) -> tuple[str, ...]:
        return ("relation_net.",)

    def shipped_model(self) -> nn.Module:
        return self.ir1

    def shipped_spec(self) -> tuple[str, dict[str, Any]]:
        return self.backbone, dict(self.backbone_args)

    def restore(self, lq: torch.Tensor) -> torch.Tensor:
        return self.ir1(lq)

    def grad_clip_groups(self) -> dict[str, list[nn.Parameter]]:
        """IR1 and the teacher (IR2 + SPF) are clipped separately (train.grad_clip)."""
        trained = lambda *mods: [p for m in mods if m is not None for p in m.parameters() if p.requires_grad]  # noqa: E731
        groups = {"ir1": trained(self.ir1)}
        if self.ir2 is not None:
            groups["ir2"] = trained(self.ir2, self.spf)
        return groups

    def needs_masks(self) -> bool:
        """`SAM4IRConfig.uses_masks` for the networks built (the method exists: SAM4IR is on)."""
        return (self.spf is not None and self.cfg.spf_prior == "masks") or self.relation_net is not None

    def prior_map(self, i1: torch.Tensor, masks: Optional[torch.Tensor], clean: Optional[torch.Tensor]) -> torch.Tensor:
        """What SPF fuses beside I1: the encoded masks, or (spf_prior: oracle) a degraded copy of
        `clean`, the GT. Outside training the oracle's noise is drawn from a fixed seed, so every
        validation sees the same oracle and training's random stream is left alone."""
        if self.cfg.spf_prior == "masks":
            return encode(masks, self.encoding, image=i1)
        if clean is None:
            raise ValueError("sam4ir.spf_prior: oracle needs the batch's GT (training and validation only)")
        gen = None if self.training else torch.Generator().manual_seed(0)
        return oracle_prior(clean, self.cfg.oracle.blur_sigma, self.cfg.oracle.noise_sigma, gen)

    def teacher(self, i1: torch.Tensor, lq: torch.Tensor, masks: Optional[torch.Tensor],
                gt: Optional[torch.Tensor] = None, clean: Optional[torch.Tensor] = None):
        """I2 = IR2(I1) with SPF fusing [I1, M] into every block (eq. 3).

        With `gt`, returns (I2, IR2's reconstruction loss); without, I2 alone. `clean`: the GT
        the oracle prior is made from (default `gt`)."""
        src = i1 if self.cfg.ir2_input == "restored" else lq
        if self.cfg.detach_ir1_for_ir2:
            src, i1 = src.detach(), i1.detach()
        run = (lambda: self.reconstruct(self.ir2, src, gt)) if gt is not None else (lambda: self.ir2(src))
        if self.spf is None:
            return run()
        with self.spf.priors(i1, self.prior_map(i1, masks, gt if clean is None else clean)):
            return run()

    def forward(self, batch: dict) -> StepOutput:
        lq, gt = batch["lq"], batch["gt"]
        masks = batch.get("masks")
        if self.needs_masks() and masks is None:
            raise ValueError("SAM4IR with SPF/SGR needs prior masks in the batch (build the data with a PriorProvider)")
        i1, loss1 = self.reconstruct(self.ir1, lq, gt)
        logs = {"loss_ir1": float(loss1.detach())}
        total = loss1
        if self.ir2 is not None:
            i2, loss2 = self.teacher(i1, lq, masks, gt)
            total = total + loss2
            logs["loss_ir2"] = float(loss2.detach())
            distill = self.step >= self.cfg.distill_start_step
            if self.cfg.spd.enabled and distill:
                c = self.cfg.spd
                l_spd = spd_loss(i1, i2, c.beta, c.pixel_scale, c.gate, gt, c.target)
                total = total + self.cfg.spd.weight * l_spd
                logs["loss_spd"] = float(l_spd.detach())
            if self.relation_net is not None and distill:
                l_sgr = self.sgr(i1, i2, masks)
                total = total + self.cfg.sgr.weight * l_sgr
                logs["loss_sgr"] = float(l_sgr.detach())
        logs["loss"] = float(total.detach())
        return StepOutput(total, logs)

    def sgr(self, i1: torch.Tensor, i2: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        f1 = self.relation_net(i1)
        with torch.no_grad():
            f2 = self.relation_net(i2.detach())
        c = self.cfg.sgr
        return sgr_loss(f1, f2, masks, c.distance, c.mask_resize, c.min_mask_pixels, c.relation)

    def on_step_start(self, step: int, trainer) -> None:
        """Track the step (distill_start_step); prior_source=restored: publish IR1 from the warm-up
        step on, every K steps. Before it the provider segments LQ, so a stale snapshot left by an
        earlier run in the same folder is removed at the first step."""
        first_call, self.step = self._first_step, step
        self._first_step = False
        if self.cfg.prior_source != "restored" or not self.needs_masks() or trainer is None:
            return
        due = self.cfg.snapshot_due(step)
        if not due and not (first_call and step < self.cfg.snapshot_start):
            return
        from samdistill.sam4ir.priors import remove_ir1_snapshot, write_ir1_snapshot

        acc = getattr(trainer, "accelerator", None)
        if acc is None or acc.is_main_process:
            if due:
                write_ir1_snapshot(self.ir1, trainer.cfg.output_dir, step)
            else:
                remove_ir1_snapshot(trainer.cfg.output_dir)
        if acc is not None:
            acc.wait_for_everyone()
        if self.cfg.restored_refresh == "processes":
            from samdistill.sam4ir.refresh import refresh_priors

            refresh_priors(self, trainer, step, due)

    def extra_validation(self, batch: dict) -> dict[str, torch.Tensor]:
        """IR2's output I2 (Table 5 reports f_IR2 too), when the batch carries priors."""
        if self.ir2 is None or (self.needs_masks() and batch.get("masks") is None):
            return {}
        i1 = self.ir1(batch["lq"])
        return {"ir2": self.teacher(i1, batch["lq"], batch.get("masks"), clean=batch.get("gt"))}


def build_sam4ir_method(cfg, train_dataset=None, val_dataset=None) -> SAM4IRMethod:
    """SAM4IR from an experiment config and the datasets it trains and validates on, built before it
    with the run's prior provider (`sam4ir.priors.build_prior_provider`; `build.build_experiment`)."""
    method = SAM4IRMethod(cfg.model.name, cfg.model.args, cfg.sam4ir, cfg.train.loss,
                          cfg.priors.encoding, cfg.priors.num_masks, cfg.seed)
    if method.needs_masks():
        for ds in (train_dataset, val_dataset):
            if ds is not None and getattr(ds, "prior_provider", None) is None:
                raise ValueError("SAM4IR with masks needs datasets built with the run's prior provider "
                                 "(sam4ir.priors.build_prior_provider)")
        # what a refresh restores and segments (restored_refresh: processes); not module state
        method.prior_datasets = [ds for ds in (train_dataset, val_dataset) if ds is not None]
        if cfg.sam4ir.prior_source == "restored" and method.prior_datasets:
            import logging

            from samdistill.sam4ir.plan import distinct_pairs, plan_restored_priors

            pairs = distinct_pairs([ds.pairs for ds in method.prior_datasets])
            logging.getLogger("samdistill").info(plan_restored_priors(cfg.sam4ir, cfg.train.steps, len(pairs)).summary())
    return method
