"""The paper-style comparison: per dataset, each run's PSNR↑ SSIM↑ FID↓ LPIPS↓ and downstream
segmentation scores, a "+" row per later run (its difference to the first run), and for every
difference with per-image data a paired bootstrap confidence interval and how many images improved.

`compare_runs(runs, resamples, seed, confidence) -> dict` (JSON-ready) and `markdown(comparison)` /
`csv_rows(comparison)`. An "input" row shows the first run's degraded inputs (the baseline every
restoration must beat) when its report has them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from samdistill.compare.bootstrap import SEG_SCORES, few_images_caution, paired_confusion_ci, paired_mean_ci
from samdistill.compare.runs import Run, common_datasets, matched_rows


@dataclass(frozen=True)
class Metric:
    key: str
    title: str
    higher_is_better: bool
    percent: bool = False   # segmentation scores are shown x100, as papers do
    digits: int = 2


METRICS = (
    Metric("psnr", "PSNR↑", True),
    Metric("ssim", "SSIM↑", True, digits=4),
    Metric("fid", "FID↓", False),
    Metric("lpips", "LPIPS↓", False, digits=4),
    Metric("mIoU", "mIoU↑", True, percent=True),
    Metric("pixel_acc", "pixel acc↑", True, percent=True),
    Metric("mean_dice", "Dice↑", True, percent=True),
)
BY_KEY = {m.key: m for m in METRICS}


def run_values(report: dict, prefix: str = "") -> dict[str, Optional[float]]:
    """Dataset-level values of one report; `prefix` "input" reads the degraded inputs' scores."""
    mean = report.get("mean", {})
    key = (lambda k: f"input_{k}") if prefix else (lambda k: k)
    fid = report.get("fid") or {}
    seg = (report.get("downstream") or {}).get("input" if prefix else "restored") or {}
    values = {"psnr": mean.get(key("psnr")), "ssim": mean.get(key("ssim")), "lpips": mean.get(key("lpips")),
              "fid": fid.get("input" if prefix else "restored")}
    values.update({k: seg.get(k) for k in SEG_SCORES})
    return {k: (float(v) if isinstance(v, (int, float)) else None) for k, v in values.items()}


def _confusions(report: dict, names: list[str], which: str = "restored") -> Optional[np.ndarray]:
    """(N, C, C) per-image confusion matrices in `names` order, from the report's downstream section."""
    section = report.get("downstream") or {}
    per_image = (section.get("per_image_confusion") or {}).get(which)
    if not per_image or any(n not in per_image for n in names):
        return None
    c = int(section["classes"])
    out = np.zeros((len(names), c, c), np.int64)
    for i, name in enumerate(names):
        for t, p, count in per_image[name]:
            out[i, t, p] = count
    return out


def _delta_cis(a: Run, b: Run, dataset: str, resamples: int, seed: int, confidence: float) -> dict:
    rows_a, rows_b = matched_rows(a, b, dataset)
    cis = {}
    for key in ("psnr", "ssim", "lpips"):
        if all(key in r for r in rows_a) and all(key in r for r in rows_b):
            va = np.array([r[key] for r in rows_a], np.float64)
            vb = np.array([r[key] for r in rows_b], np.float64)
            try:
                cis[key] = paired_mean_ci(va, vb, BY_KEY[key].higher_is_better, resamples, seed, confidence).as_dict()
            except ValueError as err:  # e.g. every image identical to its GT (PSNR inf)
                cis[key] = {"error": str(err)}
    names = [r["name"] for r in rows_a]
    ca, cb = _confusions(a.reports[dataset], names), _confusions(b.reports[dataset], names)
    if ca is not None and cb is not None and ca.shape == cb.shape:
        for key, ci in paired_confusion_ci(ca, cb, resamples, seed, confidence).items():
            cis[key] = ci.as_dict()
    return cis


def compare_runs(runs: list[Run], resamples: int = 10_000, seed: int = 0, confidence: float = 0.95) -> dict:
    """The whole comparison as a JSON-ready dict (see the module docstring)."""
    out = {"runs": [{"label": r.label, "source": str(r.source)} for r in runs],
           "bootstrap": {"resamples": resamples, "seed": seed, "confidence": confidence,
                         "method": "paired percentile bootstrap over images"},
           "datasets": {}}
    for dataset in common_datasets(runs):
        first = runs[0]
        for other in runs[1:]:
            matched_rows(first, other, dataset)  # every run scored the same images (error otherwise)
        rows = []
        input_values = run_values(first.reports[dataset], prefix="input")
        if any(v is not None for v in input_values.values()):
            rows.append({"label": "input", "values": input_values})
        rows += [{"label": r.label, "values": run_values(r.reports[dataset])} for r in runs]
        base = run_values(first.reports[dataset])
        deltas = []
        for other in runs[1:]:
            values = run_values(other.reports[dataset])
            diff = {k: (values[k] - base[k] if values[k] is not None and base[k] is not None else None) for k in base}
            deltas.append({"label": f"{other.label} − {first.label}", "run": other.label, "against": first.label,
                           "values": diff, "ci": _delta_cis(first, other, dataset, resamples, seed, confidence)})
        images = len(first.reports[dataset]["images"])
        out["datasets"][dataset] = {"images": images, "rows": rows, "deltas": deltas}
        caution = few_images_caution(images)
        if caution and any(d["ci"] for d in deltas):
            out["datasets"][dataset]["caution"] = caution
    return out


# ---------------------------------------------------------------- rendering

def shown_metrics(section: dict) -> list[Metric]:
    """The metrics at least one row has a value for."""
    return [m for m in METRICS if any(row["values"].get(m.key) is not None for row in section["rows"])]


def fmt(metric: Metric, value: Optional[float], signed: bool = False) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and math.isinf(value):
        return ("+" if value > 0 and signed else "") + ("inf" if value > 0 else "-inf")
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    v = value * 100 if metric.percent else value
    return f"{v:+.{metric.digits}f}" if signed else f"{v:.{metric.digits}f}"


def ci_text(metric: Metric, ci: dict) -> str:
    if "error" in ci:
        return f"n/a ({ci['error']})"
    return f"[{fmt(metric, ci['low'], True)}, {fmt(metric, ci['high'], True)}]"


def improved_text(ci: dict) -> str:
    if "error" in ci:
        return "–"
    text = f"{ci['improved']}/{ci['count']} ({ci['worse']} worse"
    text += f", {ci['tied']} tied" if ci["tied"] else ""
    text += f", {ci['excluded']} left out: non-finite" if ci.get("excluded") else ""
    return text + ")"


def markdown(comparison: dict) -> str:
    b = comparison["bootstrap"]
    lines = ["# Run comparison", "",
             "Runs: " + ", ".join(f"**{r['label']}** (`{r['source']}`)" for r in comparison["runs"]), ""]
    for dataset, section in comparison["datasets"].items():
        metrics = shown_metrics(section)
        lines += [f"## {dataset} ({section['images']} images)", "",
                  "| run | " + " | ".join(m.title for m in metrics) + " |", "|---" * (len(metrics) + 1) + "|"]
        for row in section["rows"]:
            lines.append(f"| {row['label']} | " + " | ".join(fmt(m, row["values"].get(m.key)) for m in metrics) + " |")
        for delta in section["deltas"]:
            lines.append(f"| + ({delta['label']}) | "
                         + " | ".join(fmt(m, delta["values"].get(m.key), signed=True) for m in metrics) + " |")
        for delta in section["deltas"]:
            if not delta["ci"]:
                continue
            seg_note = "; segmentation scores in percent points" if any(k in delta["ci"] for k in SEG_SCORES) else ""
            lines += ["", f"{delta['label']}: paired bootstrap {100 * b['confidence']:g} % CI over images "
                          f"({b['resamples']} resamples, seed {b['seed']}){seg_note}."]
            if section.get("caution"):
                lines += ["", f"**{section['caution'][0].upper()}{section['caution'][1:]}**"]
            lines += ["",
                      "| metric | Δ | CI | images improved |", "|---|---|---|---|"]
            for m in METRICS:
                ci = delta["ci"].get(m.key)
                if ci is None:
                    continue
                value = ci.get("delta", delta["values"].get(m.key))
                lines.append(f"| {m.title} | {fmt(m, value, signed=True)} | {ci_text(m, ci)} | {improved_text(ci)} |")
        lines.append("")
    lines.append("FID is a set-level score: no per-image interval. Percentile bootstrap: the image set is "
                 "resampled with replacement, the same draw for both runs.")
    return "\n".join(lines) + "\n"


def csv_rows(comparison: dict) -> list[list[str]]:
    """Long format: dataset, row, metric, value, ci_low, ci_high, improved, worse, tied, count."""
    out = [["dataset", "row", "metric", "value", "ci_low", "ci_high", "improved", "worse", "tied", "images"]]
    num: Callable[[Optional[float]], str] = lambda v: "" if v is None else repr(float(v))
    for dataset, section in comparison["datasets"].items():
        for row in section["rows"]:
            for m in METRICS:
                if row["values"].get(m.key) is not None:
                    out.append([dataset, row["label"], m.key, num(row["values"][m.key]), "", "", "", "", "", ""])
        for delta in section["deltas"]:
            for m in METRICS:
                ci = delta["ci"].get(m.key) or {}
                value = ci.get("delta", delta["values"].get(m.key))
                if value is None:
                    continue
                ok = "error" not in ci and bool(ci)
                out.append([dataset, f"+ ({delta['label']})", m.key, num(value),
                            num(ci["low"]) if ok else "", num(ci["high"]) if ok else "",
                            str(ci["improved"]) if ok else "", str(ci["worse"]) if ok else "",
                            str(ci["tied"]) if ok else "", str(ci["count"]) if ok else ""])
    return out
