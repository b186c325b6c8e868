"""Score a network on paired data, or score two folders of images against each other.

Both write the same kind of report: `metrics.json` (per-image list + means; PSNR of identical
images is inf, written as the string "inf"), `metrics.md` (a Markdown table) and `metrics.csv` (one
row per image, the per-image columns of the JSON). A model evaluation also scores the degraded input
against the ground truth, so every report shows the baseline a restoration has to beat.
PSNR/SSIM go through `metrics.pair_scores.PairScorer` (on the model's device: batched torch on CUDA,
numpy/scipy with the ground truth's statistics shared by the restored and the input image on CPU).
"""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import numpy as np
import torch
import torch.nn as nn

from samdistill.core.errors import DataError
from samdistill.engine.progress import track
from samdistill.metrics.config import EvalConfig
from samdistill.metrics.pair_scores import PairScorer
from samdistill.core.json_safe import json_safe, write_json
from samdistill.metrics.psnr_ssim import mean_value, psnr, ssim

MODEL_KEYS = ("psnr", "ssim", "input_psnr", "input_ssim")
# per-image segmentation scores of the restored, input and ground-truth images (inference/downstream.py)
DOWNSTREAM_KEYS = ("seg_miou", "seg_acc", "input_seg_miou", "input_seg_acc", "gt_seg_miou", "gt_seg_acc")
FOLDER_KEYS = ("psnr", "ssim")
LPIPS_KEYS = ("lpips", "input_lpips")


def report_keys(report: dict) -> tuple[str, ...]:
    """The per-image columns of a model report: PSNR/SSIM, plus LPIPS when it was measured, plus the
    per-image downstream segmentation scores when a segmenter was run."""
    return (MODEL_KEYS + (LPIPS_KEYS if "lpips_net" in report else ())
            + (DOWNSTREAM_KEYS if "downstream" in report else ()))


def _to_hwc(t: torch.Tensor) -> np.ndarray:
    return t.detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy()


def _iter_samples(data: Any) -> Iterable[tuple[str, np.ndarray, np.ndarray, dict]]:
    """(name, lq, gt, paths) from a dataset yielding {"lq","gt","name","index"} dicts, or from
    (lq_path, gt_path) tuples / `data.layouts.Pair`s (.lq, .gt, .name, optional .lq_box/.gt_box)."""
    from samdistill.data.io import read_image

    pairs = getattr(data, "pairs", None)
    for i in range(len(data)):
        item = data[i]
        if isinstance(item, dict):
            pair = pairs[item.get("index", i)] if pairs is not None else None
            paths = {"lq_path": str(pair.lq), "gt_path": str(pair.gt)} if pair is not None else {}
            if getattr(pair, "label", None) is not None:
                paths["label_path"] = str(pair.label)
            yield str(item["name"]), _to_hwc(item["lq"]), _to_hwc(item["gt"]), paths
        else:
            lq, gt = (item.lq, item.gt) if hasattr(item, "lq") else item
            name = getattr(item, "name", None) or Path(lq).stem
            lq_img = read_image(lq, getattr(item, "lq_box", None))
            gt_img = read_image(gt, getattr(item, "gt_box", None))
            paths = {"lq_path": str(lq), "gt_path": str(gt)}
            if getattr(item, "label", None) is not None:
                paths["label_path"] = str(item.label)
            yield name, lq_img, gt_img, paths


def _model_device(model: nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def _lpips_against(metric: Any, gt: np.ndarray, preds: list[np.ndarray], name: str) -> list[float]:
    """LPIPS of several predictions against one ground truth, in one batch."""
    def chw(img: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32)).permute(2, 0, 1)

    a = torch.stack([chw(p) for p in preds])
    b = chw(gt)[None].expand_as(a)
    try:
        return [float(v) for v in metric.lpips(a, b)]
    except ValueError as err:
        raise DataError(f"{name}: {err}") from None


def _score_set(scorer: PairScorer, gt: np.ndarray, preds: dict[str, np.ndarray], name: str) -> dict:
    try:
        return scorer.score(gt, preds)
    except ValueError as err:
        raise DataError(f"{name}: {err}") from None


def evaluate_model(model: nn.Module, dataset_or_pairs: Any, eval_cfg: EvalConfig,
                   save_dir: str | Path | None = None, save_images: bool | None = None,
                   progress: bool = True, fid: Any = None, lpips: Any = None, downstream: Any = None,
                   meta: Optional[dict] = None, progress_name: str = "eval") -> dict:
    """Restore every pair, score restored and input images against GT; returns the report dict.
    `progress`: a bar named `progress_name` on a terminal, progress lines elsewhere (engine.progress).

    The report: {"count", "y_channel", "crop_border", "tile", "images": [{"name", "psnr", "ssim",
    "input_psnr", "input_ssim", "lq_path", "gt_path"[, "label_path"][, "restored_path"]}...],
    "mean": {...}} (means are inf if any image is identical to its GT). With `save_dir`, writes
    metrics.json, metrics.md and metrics.csv there, and the restored images as {name}.png when
    `save_images` (default: eval_cfg.save_images; their paths go into the rows as "restored_path").

    Optional perceptual metrics, on the full images (no crop border, RGB):
    - `lpips`: a `metrics.lpips.LPIPS`; adds per-image "lpips" / "input_lpips", their means, and
      "lpips_net" to the report.
    - `fid`: a `metrics.fid.InceptionFeatures`; adds "fid": {"restored": FID(restored set, GT set),
      "input": FID(input set, GT set), "resize", "mode", "count", "weights", "notes"}.
    - `downstream`: an `inference.downstream.DownstreamScorer`; segments the restored, input and
      ground-truth images, adds per-image "seg_miou"/"seg_acc" columns (with "input_"/"gt_" twins)
      and a "downstream" section (dataset-level IoU per class, mIoU, pixel accuracy, Dice of each).
    `meta`: fields put first in the report (the CLI's "dataset" and "checkpoint", read by `compare`).
    """
    from samdistill.data.io import write_image
    from samdistill.inference.restore import restore_image

    save_images = eval_cfg.save_images if save_images is None else save_images
    device, was_training = _model_device(model), model.training
    scorer = PairScorer(eval_cfg.crop_border, eval_cfg.y_channel, device)
    model.eval()
    rows = []
    collect = None
    if fid is not None:
        collect = {"restored": fid.collector(), "input": fid.collector(), "gt": fid.collector()}
    try:
        samples = _iter_samples(dataset_or_pairs)
        for name, lq, gt, paths in track(samples, progress_name, total=len(dataset_or_pairs), unit="img",
                                         enabled=progress):
            restored = restore_image(model, lq, device, eval_cfg.tile, eval_cfg.tile_overlap)
            scores = _score_set(scorer, gt, {"restored": restored, "input": lq}, name)
            row = {"name": name, "psnr": scores["restored"][0], "ssim": scores["restored"][1],
                   "input_psnr": scores["input"][0], "input_ssim": scores["input"][1]}
            if lpips is not None:
                row["lpips"], row["input_lpips"] = _lpips_against(lpips, gt, [restored, lq], name)
            if downstream is not None:
                row.update(downstream.add(name, {"restored": restored, "input": lq, "gt": gt}, paths.get("label_path")))
            if collect is not None:
                for key, img in (("restored", restored), ("input", lq), ("gt", gt)):
                    collect[key].add(img)
            if save_dir is not None and save_images:
                target = Path(save_dir) / f"{name}.png"
                target.parent.mkdir(parents=True, exist_ok=True)
                write_image(target, restored)
                paths = {**paths, "restored_path": str(target)}
            rows.append({**row, **paths})
    finally:
        model.train(was_training)
    report = {**(meta or {}), "count": len(rows), "y_channel": eval_cfg.y_channel,
              "crop_border": eval_cfg.crop_border, "tile": eval_cfg.tile, "images": rows}
    if lpips is not None:
        report["lpips_net"] = lpips.net
    if downstream is not None:
        report["downstream"] = downstream.section()
    report["mean"] = _means(rows, report_keys(report))
    if collect is not None:
        report["fid"] = _fid_section(collect, fid)
    if save_dir is not None:
        write_report(report, save_dir, report_keys(report))
    return report


def _fid_section(collect: dict, extractor: Any) -> dict:
    import warnings

    from samdistill.metrics.fid import FIDWarning, fid_from_features

    gt = collect["gt"].result()
    if len(gt) < 2:
        raise DataError(f"FID needs at least 2 image pairs; the dataset has {len(gt)}")
    with warnings.catch_warnings():  # the few-images caveat goes into the report's notes instead
        warnings.simplefilter("ignore", FIDWarning)
        restored = fid_from_features(collect["restored"].result(), gt, resize=extractor.resize)
        baseline = fid_from_features(collect["input"].result(), gt, resize=extractor.resize)
    return {"restored": restored.value, "input": baseline.value, "resize": restored.resize, "mode": restored.mode,
            "method": restored.method, "count": len(gt), "weights": extractor.weights, "notes": list(restored.notes)}


def _means(rows: list[dict], keys: tuple[str, ...]) -> dict[str, float]:
    return {k: mean_value([r[k] for r in rows]) for k in keys}


# ---------------------------------------------------------------- folder comparison

def _index_by_stem(folder: Path, problems: list[str]) -> dict[str, Path]:
    from samdistill.inference.restore import list_images

    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: folder not found")
    by_stem: dict[str, list[Path]] = {}
    for path in list_images(folder):
        by_stem.setdefault(path.stem, []).append(path)
    for stem, paths in by_stem.items():
        if len(paths) > 1:
            problems.append(f"ambiguous: {', '.join(map(str, paths))} share the name {stem!r} (none scored)")
    return {stem: paths[0] for stem, paths in by_stem.items() if len(paths) == 1}


# How a restored file's stem (named after its input, as `restore` writes it) and a ground-truth stem
# become the pairing key, per dataset naming: Rain200 norain-1x2 vs norain-1, DDN 3_7 vs 3 (14 rainy
# versions per clean image), SIDD 0001_NOISY_SRGB_010 vs 0001_GT_SRGB_010.
PAIRING_LAYOUTS: dict[str, tuple[Callable[[str], Optional[str]], Callable[[str], Optional[str]]]] = {
    "same": (lambda s: s, lambda s: s),
    "rain200": (lambda s: s[:-2] if s.lower().endswith("x2") else None, lambda s: s),
    "ddn": (lambda s: s.split("_", 1)[0] if "_" in s else None, lambda s: s),
    "sidd": (lambda s: s.replace("_NOISY_", "_") if "_NOISY_" in s else None,
             lambda s: s.replace("_GT_", "_") if "_GT_" in s else None),
}


def pairing_keys(layout: str = "same", pattern: Optional[str] = None):
    """(prediction stem -> key, ground-truth stem -> key); `pattern`: a regex whose group 1 is the
    key of a prediction stem (ground truth by its whole stem)."""
    if pattern is not None:
        regex = re.compile(pattern)
        if regex.groups < 1:
            raise DataError(f"--pattern {pattern!r} needs one group: the pairing key")

        def from_pattern(stem: str) -> Optional[str]:
            m = regex.search(stem)
            return m.group(1) if m else None

        return from_pattern, (lambda s: s)
    if layout not in PAIRING_LAYOUTS:
        raise DataError(f"unknown pairing layout {layout!r}; choose one of {', '.join(PAIRING_LAYOUTS)}")
    return PAIRING_LAYOUTS[layout]


def _score_files(pred_path: Path, gt_path: Path, y_channel: bool, crop_border: int) -> dict:
    from samdistill.data.io import read_image

    pred, gt = read_image(pred_path), read_image(gt_path)
    if pred.shape != gt.shape:
        raise DataError(f"size mismatch: {pred_path} is {pred.shape[1]}x{pred.shape[0]} but "
                        f"{gt_path} is {gt.shape[1]}x{gt.shape[0]}")
    try:
        return {"psnr": psnr(pred, gt, crop_border, y_channel), "ssim": ssim(pred, gt, crop_border, y_channel)}
    except ValueError as err:
        raise DataError(f"{pred_path}: {err}") from None


def compare_folders(pred_dir: str | Path, gt_dir: str | Path, y_channel: bool = False,
                    crop_border: int = 0, layout: str = "same", pattern: Optional[str] = None) -> dict:
    """Score images of `pred_dir` against the ground-truth images of `gt_dir` (top level) they pair
    with: same stem by default, or by a dataset's naming (`layout`) or a regex (`pattern`); several
    predictions may share one ground truth (DDN).

    Returns {"count", "y_channel", "crop_border", "images": [{"name", "psnr", "ssim", "pred_path",
    "gt_path"}], "mean": {"psnr", "ssim"}, "problems": [...]}: every unmatched, ambiguous,
    unreadable or size-mismatched file is listed by path in "problems" and left out of the means.
    Raises DataError if no pair at all could be scored.
    """
    pred_key, gt_key = pairing_keys(layout, pattern)
    problems: list[str] = []
    pred = _index_by_stem(Path(pred_dir), problems)
    gt_by_stem = _index_by_stem(Path(gt_dir), problems)
    gt: dict[str, Path] = {}
    for stem, path in gt_by_stem.items():
        key = gt_key(stem)
        if key is None:
            problems.append(f"{path}: name does not follow the {layout} naming (not a ground truth)")
        elif key in gt:
            problems.append(f"ambiguous ground truth: {gt[key]} and {path} both pair with key {key!r}")
        else:
            gt[key] = path
    rows, used = [], set()
    for stem in sorted(pred):
        key = pred_key(stem)
        if key is None or key not in gt:
            why = "does not match --pattern" if key is None and pattern else f"no ground truth (key {key!r})"
            problems.append(f"{pred[stem]}: {why} in {gt_dir}")
            continue
        used.add(key)
        try:
            scores = _score_files(pred[stem], gt[key], y_channel, crop_border)
        except DataError as err:  # ImageReadError included: it names the file
            problems.append(str(err))
            continue
        rows.append({"name": stem, **scores, "pred_path": str(pred[stem]), "gt_path": str(gt[key])})
    problems += [f"no prediction for {gt[k]}" for k in sorted(set(gt) - used)]
    if not rows:
        listed = "\n  ".join(problems) or "(no images found)"
        raise DataError(f"no image pairs to score between {pred_dir} and {gt_dir}:\n  {listed}")
    return {"count": len(rows), "y_channel": y_channel, "crop_border": crop_border, "images": rows,
            "mean": _means(rows, FOLDER_KEYS), "problems": problems}


# ---------------------------------------------------------------- report files

def format_value(key: str, value: float) -> str:
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    if value is None:
        return "n/a"
    return f"{value:.4f}" if ("ssim" in key or "lpips" in key or "seg_" in key) else f"{value:.2f}"


COLUMN_TITLES = {"psnr": "PSNR (dB)", "ssim": "SSIM", "input_psnr": "input PSNR (dB)", "input_ssim": "input SSIM",
                 "lpips": "LPIPS", "input_lpips": "input LPIPS",
                 "seg_miou": "seg mIoU", "seg_acc": "seg acc", "input_seg_miou": "input seg mIoU",
                 "input_seg_acc": "input seg acc", "gt_seg_miou": "GT seg mIoU", "gt_seg_acc": "GT seg acc"}


def fid_lines(report: dict) -> list[str]:
    """One line for the FID section of a report (none when FID was not measured)."""
    fid = report.get("fid")
    if not fid:
        return []
    lines = [f"FID restored vs GT {fid['restored']:.3f}, input vs GT {fid['input']:.3f} over {fid['count']} "
             f"image(s) ({fid['mode']}; weights {fid['weights']})"]
    return lines + [f"note: {note}" for note in fid.get("notes", [])]


def downstream_lines(report: dict) -> list[str]:
    """A Markdown table of the downstream segmentation scores (percent) of restored, input and GT images."""
    seg = report.get("downstream")
    if not seg:
        return []

    def pct(v) -> str:
        return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.2f}"

    lines = [f"Downstream segmentation ({seg['segmenter']}, {seg['protocol']}, {seg['inference']}), percent:", "",
             "| images | mIoU | pixel acc | Dice |", "|---|---|---|---|"]
    for kind, title in (("input", "degraded input"), ("restored", "restored"), ("gt", "ground truth")):
        s = seg[kind]
        lines.append(f"| {title} | {pct(s['mIoU'])} | {pct(s['pixel_acc'])} | {pct(s['mean_dice'])} |")
    return lines


def markdown_report(report: dict, keys: tuple[str, ...]) -> str:
    space = "Y (BT.601)" if report["y_channel"] else "RGB"
    lines = [f"Metrics on {space}, crop border {report['crop_border']}, {report['count']} image(s).", "",
             "| image | " + " | ".join(COLUMN_TITLES[k] for k in keys) + " |",
             "|---" * (len(keys) + 1) + "|"]
    for row in report["images"]:
        lines.append(f"| {row['name']} | " + " | ".join(format_value(k, row[k]) for k in keys) + " |")
    lines.append("| **mean** | " + " | ".join(f"**{format_value(k, report['mean'][k])}**" for k in keys) + " |")
    if "lpips_net" in report:
        lines += ["", f"LPIPS v0.1 ({report['lpips_net']}) on full RGB images; lower is closer to the ground truth."]
    if report.get("fid"):
        lines += [""] + fid_lines(report)
    if report.get("downstream"):
        lines += [""] + downstream_lines(report)
    problems = report.get("problems") or []
    if problems:
        lines += ["", f"{len(problems)} file(s) not scored:", ""] + [f"- {p}" for p in problems]
    return "\n".join(lines) + "\n"


def write_csv(report: dict, keys: tuple[str, ...], path: str | Path) -> Path:
    """One row per image: name, the metric columns `keys` (full precision; inf as "inf"), the file paths."""
    import csv

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    extra = [k for k in ("lq_path", "restored_path", "pred_path", "gt_path", "label_path")
             if any(k in row for row in report["images"])]
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["name", *keys, *extra])
        for row in report["images"]:
            writer.writerow([row["name"], *(json_safe(row.get(k, "")) for k in keys), *(row.get(k, "") for k in extra)])
    return path


def write_report(report: dict, out_dir: str | Path, keys: tuple[str, ...]) -> tuple[Path, Path]:
    """metrics.json + metrics.md + metrics.csv in `out_dir` (created); returns (json, md)."""
    out_dir = Path(out_dir)
    md = out_dir / "metrics.md"
    js = write_json(out_dir / "metrics.json", report)
    md.write_text(markdown_report(report, keys), encoding="utf-8")
    write_csv(report, keys, out_dir / "metrics.csv")
    return js, md
