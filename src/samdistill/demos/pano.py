"""`samdistill demo pano`: GoodSAM against the source-only student on the embedded street world.

Stage 1 trains the TA and a student on labeled pinhole images. From the same stage-1 weights and
for the same number of steps two runs continue: the source-only student (labeled pinhole images
only) and GoodSAM (unlabeled panoramas with SAM's masks). The report scores, on the labeled target
panoramas: the source-only student, the GoodSAM student, the TA before and after adaptation, and
the stage-1 pseudo-labels (the TA's own windows, CTCF's E and E_H); a picture strip panorama |
source-only | GoodSAM | ground truth; the ensemble labels of one panorama. The runs' experiment is
`pano_source.yaml` / `pano_goodsam.yaml` beside this file (package data, to copy and train with
`samdistill train -c`), plus the profile's sizes and steps.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from samdistill.config.experiment import ExperimentConfig
from samdistill.config.loader import load_config

# The recipe of configs/goodsam/embedded (192-px windows, the frozen stage-1 TA labels, class-balanced
# cross-entropies, the world's exact masks unless --segmenter says otherwise) with fewer steps to fit 2 CPU
# cores, for so short an adaptation a larger learning rate ("adapt_lr", the GoodSAM run only), and in the quick
# profile a TA smaller than the configs' B0 (mini, still larger than the tiny student). Chosen on the dev
# panoramas (docs/goodsam_measurements.md); a test keeps the rest of the recipe equal to the configs'.
PROFILES = {
    "full": {"student": "tiny", "ta": "b0", "stage1": 400, "continue": 150, "adapt_lr": 1e-3},
    "quick": {"student": "tiny", "ta": "mini", "stage1": 200, "continue": 60, "adapt_lr": 1e-3},
}
SOURCE_CONFIG = Path(__file__).with_name("pano_source.yaml")   # stage 1 and the source-only student
GOODSAM_CONFIG = Path(__file__).with_name("pano_goodsam.yaml")  # the adaptation run


def demo_configs(out: Path, profile: str, overrides: list[str]) -> dict[str, ExperimentConfig]:
    p = PROFILES[profile]
    common = [f"goodsam.student.size={p['student']}", f"goodsam.ta.size={p['ta']}"] + list(overrides)
    s1 = out / "stage1"
    init = [f"goodsam.student.init={s1 / 'model.safetensors'}", f"goodsam.ta.init={s1 / 'ta.safetensors'}"]
    steps2 = [f"train.steps={p['continue']}", f"train.val_every={p['continue']}", f"train.save_every={p['continue']}"]
    runs = {
        "stage1": common + ["goodsam.stage=source", f"output_dir={s1}", f"train.steps={p['stage1']}",
                            f"train.val_every={p['stage1']}", f"train.save_every={p['stage1']}"],
        "source_only": common + init + steps2 + ["goodsam.stage=source", f"output_dir={out / 'source_only'}"],
        # the profile's learning rate first: a user's train.optimizer.lr=... (in common) replaces it
        "goodsam": [f"train.optimizer.lr={p['adapt_lr']}"] + common + init + steps2 +
                   ["goodsam.stage=adapt", f"output_dir={out / 'goodsam'}"],
    }
    files = {"stage1": SOURCE_CONFIG, "source_only": SOURCE_CONFIG, "goodsam": GOODSAM_CONFIG}
    return {name: load_config(files[name], args) for name, args in runs.items()}


def _train(cfg: ExperimentConfig) -> tuple[dict, float]:
    """The trainer's final record and the seconds to build and train one run (`build.train_experiment`)."""
    from samdistill.build import train_experiment

    t0 = time.perf_counter()
    result = train_experiment(cfg)
    return result, time.perf_counter() - t0


def run_pano_demo(out: str | Path = "demo_pano_report", profile: str = "full",
                  overrides: Optional[list[str]] = None) -> dict:
    out = Path(out)
    cfgs = demo_configs(out, profile, overrides or [])
    results = {name: _train(cfg) for name, cfg in cfgs.items()}
    labels = _pseudo_labels(cfgs["goodsam"])
    return write_report(out, cfgs, results, labels, profile)


def _pseudo_labels(cfg: ExperimentConfig) -> dict:
    """Stage-1 TA pseudo-labels on the labeled panoramas, and one panorama's stitched E."""
    from torch.utils.data import DataLoader

    from samdistill.goodsam.build import masks_per_window
    from samdistill.goodsam.data import PanoramaWindows
    from samdistill.goodsam.evaluate import pseudo_label_scores
    from samdistill.goodsam.method import GoodSAM
    from samdistill.data.pano_windows import WindowGrid
    from samdistill.priors.provider import PriorProvider

    g = cfg.goodsam
    method = GoodSAM(g)
    val = PanoramaWindows(g.data.val.model_copy(update={"classes": g.classes}), g.windows,
                          PriorProvider(cfg.priors), g.data.num_masks,
                          masks_per_window=masks_per_window(cfg))
    from samdistill.engine.progress import track

    scores = pseudo_label_scores(method, track(DataLoader(val, batch_size=1), "score pseudo-labels", unit="img"))
    item = val[0]
    x = item["image"][None]
    grid = WindowGrid.for_size(g.windows, *x.shape[-2:])
    with torch.no_grad():
        logits = method.eval().labeler()(grid.extract(x))  # labels as training makes them: eval mode
        e = method.pseudo_labels(logits, item["masks"].bool(), item["mask_class"], item["mask_score"])["ensemble"]
    onehot = torch.nn.functional.one_hot(e.clamp(max=method.num_classes - 1), method.num_classes).permute(0, 3, 1, 2)
    votes = grid.stitch(onehot.float())  # windows vote per pixel
    scores["example"] = {"name": item["name"], "image": item["image"], "label": item["label"],
                         "ensemble": votes.argmax(1)[0]}
    return scores


def write_report(out: Path, cfgs: dict, results: dict, labels: dict, profile: str) -> dict:
    from samdistill.priors.config import resolved_backend
    from samdistill.report.tables import html_table, markdown_table

    s1, so, gs = (results[k][0] for k in ("stage1", "source_only", "goodsam"))
    pct = lambda v: 100.0 * float(v)  # noqa: E731
    rows = [
        ["source-only student", pct(so["miou"]), pct(so["pixel_acc"]), f"{results['source_only'][1]:.0f}"],
        ["GoodSAM student", pct(gs["miou"]), pct(gs["pixel_acc"]), f"{results['goodsam'][1]:.0f}"],
        ["gain (GoodSAM - source-only)", pct(gs["miou"]) - pct(so["miou"]), pct(gs["pixel_acc"]) - pct(so["pixel_acc"]), ""],
        ["TA after stage 1", pct(s1["ta_miou"]), pct(s1["ta_pixel_acc"]), f"{results['stage1'][1]:.0f}"],
        ["TA after adaptation", pct(gs["ta_miou"]), pct(gs["ta_pixel_acc"]), ""],
        ["stage-1 TA on windows", pct(labels["ta_miou"]), pct(labels["ta_pixel_acc"]), ""],
        ["CTCF ensemble labels E", pct(labels["ensemble_miou"]), pct(labels["ensemble_pixel_acc"]), ""],
        [f"CTCF high-confidence E_H ({100 * labels['high_conf_coverage']:.0f} % of pixels)",
         pct(labels["high_conf_miou"]), pct(labels["high_conf_pixel_acc"]), ""],
    ]
    header = ["on the labeled target panoramas", "mIoU (%)", "pixel acc. (%)", "train s"]
    g = cfgs["goodsam"]
    segmenter = resolved_backend(g.priors)
    summary = {"profile": profile, "segmenter": segmenter, "headline": headline_sentence(pct(so["miou"]), pct(gs["miou"])), "steps": {k: c.train.steps for k, c in cfgs.items()},
               "rows": {r[0]: r[1:3] for r in rows}, "miou_gain": rows[2][1],
               "per_class_iou": {"source_only": so.get("iou_per_class"), "goodsam": gs.get("iou_per_class")}}
    out.mkdir(parents=True, exist_ok=True)
    _pictures(out, cfgs, labels["example"])
    note = (f"Profile `{profile}`: stage 1 {cfgs['stage1'].train.steps} steps, then {g.train.steps} steps for each "
            f"of the source-only (lr {cfgs['source_only'].train.optimizer.lr:g}) and GoodSAM (lr "
            f"{g.train.optimizer.lr:g}) runs, same seed. Student `{g.goodsam.student.size}`, TA "
            f"`{g.goodsam.ta.size}` (the paper: B0 and a B5-like TA). Masks: {MASKS_NOTE.get(segmenter, segmenter)}.")
    headline = headline_sentence(pct(so["miou"]), pct(gs["miou"]))
    md = (f"# samdistill demo pano — GoodSAM on the embedded street world\n\n**{headline}**\n\n{note}\n\n"
          f"{markdown_table(header, rows)}\n\n![panorama | source-only | GoodSAM | ground truth](strip.png)\n\n"
          f"![CTCF ensemble labels of one panorama](ensemble.png)\n")
    (out / "report.md").write_text(md, encoding="utf-8")
    page = (f"<html><head><meta charset='utf-8'><title>samdistill demo pano</title></head><body>"
            f"<h1>GoodSAM on the embedded street world</h1><p><b>{headline}</b></p><p>{note}</p>"
            f"{html_table(header, rows)}"
            f"<p>panorama | source-only | GoodSAM | ground truth</p><img src='strip.png'>"
            f"<p>CTCF ensemble labels</p><img src='ensemble.png'></body></html>")
    (out / "report.html").write_text(page, encoding="utf-8")
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary


MASKS_NOTE = {
    "world": "an ideal SAM: the street world's exact segments (`--segmenter offline` for the weight-free stand-in)",
    "offline": "the weight-free offline stand-in for SAM (Felzenszwalb regions, which merge objects); "
               "`--segmenter world` gives the world's exact segments (an ideal SAM)",
    "sam": "SAM, from the checkpoint given",
}


def headline_sentence(source_only: float, goodsam: float) -> str:
    """The report's first line: the one comparison a reader came for (mIoU in %)."""
    return f"GoodSAM student {goodsam:.2f} mIoU vs source-only {source_only:.2f} ({goodsam - source_only:+.2f})"


def _pictures(out: Path, cfgs: dict, example: dict) -> None:
    from samdistill.data.segmentation.dataset import SegmentationDataset
    from samdistill.data.segmentation.labels import CLASS_NAMES, CS13_NAMES, colorize, palette
    from samdistill.models.artifact import load_model_artifact
    from samdistill.report.figures import class_legend, save_labeled_rows

    g = cfgs["goodsam"].goodsam
    val = SegmentationDataset(g.data.val.model_copy(update={"classes": g.classes}))
    nets = [load_model_artifact(Path(cfgs[k].output_dir) / "model.safetensors") for k in ("source_only", "goodsam")]
    names = CS13_NAMES if g.classes == 13 else CLASS_NAMES
    rows, row_labels, maps = [], [], []
    with torch.no_grad():
        for i in range(min(3, len(val))):
            item = val[i]
            ids = [net(item["image"][None]).argmax(1)[0].numpy() for net in nets] + [item["label"].numpy()]
            maps += ids
            rows += [item["image"].permute(1, 2, 0).numpy(), *(colorize(m) / 255.0 for m in ids)]
            row_labels += [f"panorama {i + 1}", "source-only", "GoodSAM", "truth"]
    # every picture of label maps names its rows and says what each color is
    save_labeled_rows(out / "strip.png", rows, row_labels, class_legend(maps, names, palette()))
    ensemble = [example["ensemble"].numpy(), example["label"].numpy()]
    save_labeled_rows(out / "ensemble.png",
                      [(example["image"].permute(1, 2, 0).numpy() * 255).astype(np.uint8), *map(colorize, ensemble)],
                      ["panorama", "ensemble pseudo-labels", "truth"], class_legend(ensemble, names, palette()))
