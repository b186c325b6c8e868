"""Automatic mask generation ("segment everything") with segment-anything's algorithm.

Per crop (the whole image, plus 2^i x 2^i overlapping crops for crop layers i >= 1): encode the
crop once, prompt the decoder with a regular point grid in batches of `points_per_batch`
(3 masks per point), filter by predicted IoU (> pred_iou_thresh) and stability score
(>= stability_score_thresh), binarize at mask_threshold, drop masks touching a crop edge that
is not an image edge, box-NMS within the crop; then box-NMS across crops preferring smaller
crops, and optionally remove small holes/islands (re-NMS preferring untouched masks).

Efficiency, with results identical to doing it SAM's way:
- masks failing the predicted-IoU filter are never upscaled;
- boxes come from row/column maxima of the logits; stability scores are computed before NMS
  only when the stability filter needs them (else only for the survivors), on CPU counting
  only inside each mask's box; masks are upscaled a few at a time (cache-sized chunks);
- candidates are kept as low-res logits (not full-size masks) until NMS has picked the
  survivors, which alone are upscaled again into the output;
- upscaling only touches the low-res rows/columns inside the un-padded input region;
- NMS works on boxes.
Deviation: empty masks (possible only with the stability filter off) are dropped.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, fields

import numpy as np
import torch

from samdistill.priors.config import AMGConfig
from samdistill.priors.maskset import MaskSet
from samdistill.priors.sam.nms import (box_area, box_nms, build_all_layer_point_grids, generate_crop_boxes,
                                       boxes_from_maxima, is_box_near_crop_edge, stability_score,
                                       stability_score_in_boxes, uncrop_boxes)
from samdistill.priors.sam.predictor import ImageState, SamPredictor
from samdistill.priors.sam.regions import clean_small_regions


@dataclass
class Candidates:
    """Masks that passed the filters, still as low-res logits."""

    low_res: torch.Tensor  # (K, L, L) float32 decoder logits
    boxes: torch.Tensor  # (K, 4) XYXY in image coordinates
    iou: torch.Tensor  # (K,) predicted IoU
    stability: torch.Tensor  # (K,)
    crop: torch.Tensor  # (K,) index of the crop box they come from

    def select(self, index: torch.Tensor) -> "Candidates":
        return Candidates(*(getattr(self, f.name)[index] for f in fields(self)))

    @staticmethod
    def cat(parts: list["Candidates"]) -> "Candidates":
        return Candidates(*(torch.cat([getattr(p, f.name) for p in parts]) for f in fields(Candidates)))

    def __len__(self) -> int:
        return int(self.iou.shape[0])


@dataclass
class Crop:
    box: list[int]  # XYXY in the image
    layer: int

    @property
    def size(self) -> tuple[int, int]:
        return self.box[3] - self.box[1], self.box[2] - self.box[0]


class MaskGenerator:
    """`MaskGenerator(predictor, amg_cfg)(image) -> MaskSet`; image (H, W, 3) float in [0, 1].

    The predictor is SAM's (`SamPredictor`) or SAM 2's (`priors.sam2.predictor.Sam2Predictor`):
    anything with `device`, `to_tensor`, `encode`, `decode_points` and `upscale`.

    `timings` holds the seconds spent in the last call: encode, decode, total (on CUDA the
    split is approximate unless `sync_timing=True`).
    """

    def __init__(self, predictor: SamPredictor, cfg: AMGConfig, chunk: int | None = None,
                 sync_timing: bool = False):
        self.predictor = predictor
        self.cfg = cfg
        # masks upscaled at once: bounds memory (chunk x H x W floats) and keeps CPU caches warm
        self.chunk = chunk or (64 if predictor.device.type == "cuda" else 1)
        self.sync_timing = sync_timing
        self.grids = build_all_layer_point_grids(cfg.points_per_side, cfg.crop_n_layers,
                                                 cfg.crop_n_points_downscale_factor)
        self.timings: dict[str, float] = {}

    @torch.inference_mode()
    def __call__(self, image: np.ndarray) -> MaskSet:
        self.timings = {"encode": 0.0, "decode": 0.0}
        start = time.perf_counter()
        height, width = image.shape[:2]
        boxes, layers = generate_crop_boxes((height, width), self.cfg.crop_n_layers, self.cfg.crop_overlap_ratio)
        crops = [Crop(b, l) for b, l in zip(boxes, layers)]
        image_t = self.predictor.to_tensor(image)
        parts = [self._process_crop(image_t, crop, i) for i, crop in enumerate(crops)]
        cands = Candidates.cat(parts)
        if len(crops) > 1 and len(cands):
            crop_areas = box_area(torch.tensor([c.box for c in crops], dtype=torch.float64))
            scores = 1.0 / crop_areas.to(cands.crop.device)[cands.crop]  # prefer smaller crops
            cands = cands.select(box_nms(cands.boxes, scores, self.cfg.crop_nms_thresh))
        masks = self._render(cands, crops, (height, width))
        iou, stab = cands.iou.cpu().numpy(), cands.stability.cpu().numpy()
        if self.cfg.min_mask_region_area > 0 and len(masks):
            masks, iou, stab = clean_small_regions(masks, iou, stab, self.cfg.min_mask_region_area,
                                                   self.cfg.box_nms_thresh)
        self.timings["total"] = time.perf_counter() - start
        return MaskSet(masks, iou, stab)

    # ------------------------------------------------------------------ per crop / per batch
    def _process_crop(self, image: torch.Tensor, crop: Crop, index: int) -> Candidates:
        x0, y0, x1, y1 = crop.box
        state = self._timed("encode", self.predictor.encode, image[:, y0:y1, x0:x1])
        grid = torch.as_tensor(self.grids[crop.layer], dtype=torch.float32)
        points = grid * torch.tensor([x1 - x0, y1 - y0], dtype=torch.float32)
        parts = [self._process_batch(state, batch, crop, index, tuple(image.shape[1:]))
                 for batch in points.split(self.cfg.points_per_batch)]
        cands = Candidates.cat(parts)
        keep = box_nms(cands.boxes, cands.iou, self.cfg.box_nms_thresh)
        return cands.select(keep)

    def _process_batch(self, state: ImageState, points: torch.Tensor, crop: Crop, index: int,
                       image_size: tuple[int, int]) -> Candidates:
        low_res, iou = self._timed("decode", self.predictor.decode_points, state, points)
        low_res, iou = low_res.flatten(0, 1), iou.flatten(0, 1)
        if self.cfg.pred_iou_thresh > 0:
            keep = iou > self.cfg.pred_iou_thresh
            low_res, iou = low_res[keep], iou[keep]
        stability, boxes, nonempty = self._score(low_res, state)
        keep = nonempty
        if self.cfg.stability_score_thresh > 0:
            keep = keep & (stability >= self.cfg.stability_score_thresh)
        keep = keep & ~is_box_near_crop_edge(boxes, crop.box, [0, 0, image_size[1], image_size[0]])
        crop_index = torch.full((int(keep.sum()),), index, dtype=torch.long, device=iou.device)
        return Candidates(low_res[keep], uncrop_boxes(boxes[keep].float(), crop.box), iou[keep],
                          stability[keep], crop_index)

    def _score(self, low_res: torch.Tensor, state: ImageState) -> tuple[torch.Tensor, ...]:
        """Stability score (NaN when no filter needs it yet), box and non-emptiness of each mask
        at crop resolution, in chunks."""
        stab, boxes, nonempty = [], [], []
        for chunk in low_res.split(self.chunk):
            logits = self.predictor.upscale(chunk, state.original_size)
            chunk_boxes, chunk_nonempty, chunk_stab = self._measure(logits, self.cfg.stability_score_thresh > 0)
            stab.append(chunk_stab)
            boxes.append(chunk_boxes)
            nonempty.append(chunk_nonempty)
        if not stab:
            dev = low_res.device
            return (torch.zeros(0, device=dev), torch.zeros(0, 4, dtype=torch.long, device=dev),
                    torch.zeros(0, dtype=torch.bool, device=dev))
        return torch.cat(stab), torch.cat(boxes), torch.cat(nonempty)

    def _measure(self, logits: torch.Tensor, with_stability: bool) -> tuple[torch.Tensor, ...]:
        """(boxes, non-empty, stability or NaN) of full-size logits (K, H, W)."""
        thr, offset = self.cfg.mask_threshold, self.cfg.stability_score_offset
        row_max, col_max = logits.amax(dim=-1), logits.amax(dim=-2)
        boxes, nonempty = boxes_from_maxima(row_max, col_max, thr)
        if not with_stability:
            stab = torch.full(nonempty.shape, float("nan"), device=logits.device)
        elif logits.is_cuda:  # the GPU counts whole maps faster than it loops over boxes
            stab = stability_score(logits, thr, offset)
        else:
            stab = stability_score_in_boxes(logits, row_max, col_max, thr, offset)
        return boxes, nonempty, stab

    # ------------------------------------------------------------------ output
    def _render(self, cands: Candidates, crops: list[Crop], size: tuple[int, int]) -> np.ndarray:
        """Upscale the surviving candidates into (N, H, W) bool masks at image size; fills in
        stability scores not computed yet (no stability filter)."""
        out = torch.zeros((len(cands), *size), dtype=torch.bool, device=cands.iou.device)
        for index, crop in enumerate(crops):
            rows = (cands.crop == index).nonzero().flatten()
            x0, y0, x1, y1 = crop.box
            for chunk in rows.split(self.chunk):
                logits = self.predictor.upscale(cands.low_res[chunk], crop.size)
                out[chunk, y0:y1, x0:x1] = logits > self.cfg.mask_threshold
                if self.cfg.stability_score_thresh <= 0:
                    cands.stability[chunk] = self._measure(logits, True)[2]
        return out.cpu().numpy()

    def _timed(self, name: str, fn, *args):
        if self.sync_timing and self.predictor.device.type == "cuda":
            torch.cuda.synchronize(self.predictor.device)
        start = time.perf_counter()
        result = fn(*args)
        if self.sync_timing and self.predictor.device.type == "cuda":
            torch.cuda.synchronize(self.predictor.device)
        self.timings[name] += time.perf_counter() - start
        return result
