"""GoodSAM on the embedded street world: does adaptation beat the source-only student?

    .venv/bin/python benchmarks/goodsam_gain.py --seeds 0 1 2 --segmenters offline world [--profile quick|full] \
        [--split dev|test] [--variant NAME KEY=VALUE ...]

Per seed: stage 1 (`configs/goodsam/embedded/source.yaml`) trains the TA and a student on labeled
pinhole images. From the same stage-1 weights and for the same number of steps, two runs continue:
the source-only student (stage source) and GoodSAM (stage adapt, once per segmenter: the offline
Felzenszwalb stand-in and the world's ideal masks). Reported on the 40 labeled target panoramas:
mIoU of the source-only student, the GoodSAM student and its TA, and the pseudo-labels of the
stage-1 TA (its own windows, CTCF's E and E_H with their coverage). `--split dev` (default) scores
on the 40 labeled dev panoramas (`embedded-pano-dev`, other scenes), where settings are chosen;
`--split test` on the 40 test panoramas, which only report. Every row also goes to
`--out/results.json`.
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np

PROFILES = {
    # student, TA, stage-1 steps, continuation steps; None: the shipped configs' own (the default profile)
    "default": {"student": None, "ta": None, "s1": None, "s2": None},
    "quick": {"student": "tiny", "ta": "tiny", "s1": 150, "s2": 60},
    "mid": {"student": "tiny", "ta": "mini", "s1": 400, "s2": 150},
    "full": {"student": "b0", "ta": "mini", "s1": 600, "s2": 300},
}
# The paper's Table 2 as a ladder on the world: each row adds one component to the row above (applied on
# top of --set, i.e. of the recipe under test); "majority" is CTCF's baseline at the same place.
TABLE2 = [
    ("t2_windows", ["goodsam.fusion=none", "goodsam.refine_boundaries=false", "goodsam.weights.image=0",
                    "goodsam.weights.boundary=0", "goodsam.weights.consistency=0", "goodsam.weights.feature=0"]),
    ("t2_consistency", ["goodsam.weights.consistency=0.1"]),
    ("t2_boundary", ["goodsam.refine_boundaries=true", "goodsam.weights.boundary=0.5"]),
    ("t2_majority", ["goodsam.fusion=majority"]),
    ("t2_ctcf", ["goodsam.fusion=ctcf"]),
    ("t2_image", ["goodsam.weights.image=0.5"]),
    ("t2_feature", ["goodsam.weights.feature=1.0", "goodsam.label_cache=false"]),  # features are not cached
]
# DAR's consistency loss only trains the TA: with a frozen TA (the shipped recipe) nothing the student learns
# from would read it, and the config refuses it, so that row is left out (and said so in results.json).
TA_TRAINING_ROWS = {"t2_consistency": "DAR's consistency only trains the TA, which the recipe freezes (train_ta: false)"}


def table2_variants(trains_ta: bool = True) -> dict[str, list[str]]:
    out, acc = {}, []
    for name, extra in TABLE2:
        if not trains_ta and name in TA_TRAINING_ROWS:
            continue
        acc = [o for o in acc if o.split("=")[0] not in {e.split("=")[0] for e in extra}] + extra
        out[name] = list(acc)
    return out


CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "goodsam" / "embedded"


def train(config: str, overrides: list[str], out: Path | None = None) -> dict:
    """One run; returns the trainer's result plus the last validation's per-class IoU (`classes`)."""
    from accelerate import PartialState

    from samdistill.build import train_experiment
    from samdistill.config.loader import load_config

    if out is not None:
        shutil.rmtree(out, ignore_errors=True)  # the trainer refuses to write over an earlier run
    cfg = load_config(CONFIGS / config, overrides)
    result = train_experiment(cfg)
    PartialState().wait_for_everyone()
    history = json.loads((Path(cfg.output_dir) / "val_history.json").read_text())
    return {**result, "classes": history[-1]["iou_per_class"]}


def pseudo_labels(stage1: Path, segmenter: str, seed: int, common: list[str]) -> dict:
    from torch.utils.data import DataLoader

    from samdistill.build import build_experiment
    from samdistill.config.loader import load_config
    from samdistill.goodsam.build import masks_per_window
    from samdistill.goodsam.data import PanoramaWindows
    from samdistill.goodsam.evaluate import pseudo_label_scores
    from samdistill.priors.provider import PriorProvider

    cfg = load_config(CONFIGS / "adapt.yaml", common + [f"priors.backend={segmenter}", f"seed={seed}",
                                                        f"goodsam.student.init={stage1 / 'model.safetensors'}",
                                                        f"goodsam.ta.init={stage1 / 'ta.safetensors'}"])
    method, _, _ = build_experiment(cfg)
    g = cfg.goodsam
    val = PanoramaWindows(g.data.val.model_copy(update={"classes": g.classes}), g.windows,
                          PriorProvider(cfg.priors), g.data.num_masks,
                          masks_per_window=masks_per_window(cfg))
    return pseudo_label_scores(method, DataLoader(val, batch_size=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--segmenters", nargs="+", default=["offline", "world"], choices=["offline", "world", "sam"])
    ap.add_argument("--profile", choices=sorted(PROFILES), default="default",
                    help="default: the shipped configs as they are (sizes, steps); quick: tiny student and TA; "
                         "mid: tiny student, mini TA, longer; full: B0 student, mini TA")
    ap.add_argument("--out", type=Path, default=Path("runs/goodsam_gain"))
    ap.add_argument("--set", nargs="*", default=[], help="extra KEY=VALUE overrides for every run")
    ap.add_argument("--split", choices=["dev", "test"], default="dev",
                    help="labeled panoramas scored: dev (choose settings here) or test (report only)")
    ap.add_argument("--variant", nargs="+", action="append", default=[], metavar=("NAME", "KEY=VALUE"),
                    help="an extra adaptation run per segmenter with these overrides, e.g. "
                         "--variant frozen_ta goodsam.weights.ta_update=0 (repeatable)")
    ap.add_argument("--table2", action="store_true",
                    help="add the paper's Table 2 rows as a cumulative ladder of variants (TABLE2 above)")
    ap.add_argument("--stage1-steps", type=int, help="override the profile's stage-1 steps")
    ap.add_argument("--continue-steps", type=int, help="override the profile's continuation steps")
    ap.add_argument("--val-every", type=int, default=0,
                    help="also score the continuation runs every N steps (their val_history.json holds the curve)")
    ap.add_argument("--reuse-source-only", action="store_true",
                    help="keep an existing source-only continuation in --out if it ran the same number of steps")
    ap.add_argument("--skip-default", action="store_true",
                    help="run only the --variant / --table2 adaptation runs, not the default one")
    ap.add_argument("--reuse-stage1", action="store_true",
                    help="keep an existing stage-1 run in --out (same seed and profile) instead of retraining it")
    args = ap.parse_args()
    p = dict(PROFILES[args.profile])
    p["s1"] = args.stage1_steps or p["s1"] or _config_steps("source.yaml")
    p["s2"] = args.continue_steps or p["s2"] or _config_steps("adapt.yaml")
    trains_ta = _adapt_trains_ta(args.set)
    variants = ({} if args.skip_default else {"default": []}) | (table2_variants(trains_ta) if args.table2 else {}) \
        | {v[0]: v[1:] for v in args.variant}
    skipped = {k: v for k, v in TA_TRAINING_ROWS.items() if args.table2 and not trains_ta}
    rows = []
    for seed in args.seeds:
        base = args.out / f"seed{seed}"
        sizes = [f"goodsam.{net}.size={p[net]}" for net in ("student", "ta") if p[net]]
        common = [f"seed={seed}", *sizes, "train.progress=false", "train.tensorboard=false", *_split_overrides(args.split), *args.set]
        s1 = base / "stage1"
        if not (args.reuse_stage1 and (s1 / "ta.safetensors").is_file()):
            shutil.rmtree(base, ignore_errors=True)
            train("source.yaml", common + [f"output_dir={s1}", f"train.steps={p['s1']}", "train.val_every=0",
                                           "train.save_every=0"])
        init = [f"goodsam.student.init={s1 / 'model.safetensors'}", f"goodsam.ta.init={s1 / 'ta.safetensors'}"]
        cont = [f"train.steps={p['s2']}", f"train.val_every={args.val_every}", "train.save_every=0"]
        source_only = (args.reuse_source_only and _finished(base / "source_only", p["s2"])) or \
            train("source.yaml", common + init + cont + [f"output_dir={base / 'source_only'}"], base / "source_only")
        row = {"seed": seed, "source_only": source_only["miou"], "source_only_ta": source_only["ta_miou"],
               "source_only_classes": source_only["classes"]}
        for seg in args.segmenters:
            labels = pseudo_labels(s1, seg, seed, common)
            for name, extra in variants.items():
                out = base / ("adapt_" + seg + ("" if name == "default" else "_" + name))
                adapted = train("adapt.yaml", common + init + cont + [f"output_dir={out}", f"priors.backend={seg}",
                                                                      *extra], out)
                key = seg if name == "default" else f"{seg}/{name}"
                row[key] = {"student": adapted["miou"], "ta": adapted["ta_miou"], "classes": adapted["classes"],
                            **labels}
        rows.append(row)
        print(json.dumps(row, indent=1), flush=True)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "results.json").write_text(json.dumps({"profile": p, "split": args.split, "set": args.set,
                                                           "variants": variants, "skipped_rows": skipped, "rows": rows},
                                                          indent=1))
    print(f"\nprofile {args.profile}, seeds {args.seeds}, {args.split} panoramas: mIoU (x100)")
    print(f"  source-only student: {_stat([r['source_only'] for r in rows])} "
          f"(its TA, trained on as long: {_stat([r['source_only_ta'] for r in rows])})")
    for seg in [k for k in rows[0] if k.split("/")[0] in args.segmenters]:
        gains = [r[seg]["student"] - r["source_only"] for r in rows]
        print(f"  [{seg}] GoodSAM student {_stat([r[seg]['student'] for r in rows])}, gain {_stat(gains)} "
              f"(per seed {', '.join(f'{100 * g:+.2f}' for g in gains)}); TA after {_stat([r[seg]['ta'] for r in rows])}")
        print(f"  [{seg}] stage-1 pseudo-labels: TA {_stat([r[seg]['ta_miou'] for r in rows])}, "
              f"E {_stat([r[seg]['ensemble_miou'] for r in rows])}, E_H {_stat([r[seg]['high_conf_miou'] for r in rows])}"
              f" at coverage {_stat([r[seg]['high_conf_coverage'] for r in rows])}")


def _finished(run: Path, steps: int) -> dict | None:
    """An earlier continuation's final scores, if it validated at `steps`."""
    path = run / "val_history.json"
    history = json.loads(path.read_text()) if path.is_file() else []
    if not history or history[-1]["step"] != steps:
        return None
    last = history[-1]
    return {"miou": last["miou"], "ta_miou": last["ta_miou"], "classes": last["iou_per_class"]}


def _adapt_trains_ta(overrides: list[str]) -> bool:
    from samdistill.config.loader import load_config

    return load_config(CONFIGS / "adapt.yaml", overrides).goodsam.train_ta


def _config_steps(config: str) -> int:
    from samdistill.config.loader import load_config

    return load_config(CONFIGS / config, []).train.steps


def _split_overrides(split: str) -> list[str]:
    return ["goodsam.data.val.root=embedded-pano-dev"] if split == "dev" else []


def _stat(values: list[float]) -> str:
    v = 100 * np.asarray(values, float)
    return f"{v.mean():.2f} +- {v.std():.2f}"


if __name__ == "__main__":
    main()
