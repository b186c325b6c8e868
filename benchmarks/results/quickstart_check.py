"""Does the quickstart SAM4IR config hurt a user's network? Both quickstart configs on a small
Rain200-layout folder of real photos, trained the same way, as a user runs them.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/results/quickstart_check.py [--out runs/quickstart_check] [--steps N]

The photos shipped inside scikit-image / scikit-learn / matplotlib (the embedded demo's train and test
photos, whole, short side 256) get light synthetic rain and are written in the Rain200 layout
(`norain/norain-{i}.png`, `rain/X2/norain-{i}x2.png`); `samdistill train -c configs/quickstart/X.yaml`
then runs with only the roots and the layout set. Prints and writes (`results.json`) the last
validation PSNR/SSIM of each and the difference.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def write_rain200(out: Path, photos: tuple[str, ...], seed: int) -> None:
    from PIL import Image

    from samdistill.data.degradations import add_rain
    from samdistill.data.embedded import load_photo, photo_sources

    sources = photo_sources()
    for i, name in enumerate((p for p in photos if sources.get(p) and sources[p].is_file()), 1):
        clean = load_photo(sources[name])
        rainy = add_rain(clean, np.random.default_rng([seed, i]), "light")
        for path, img in ((out / "norain" / f"norain-{i}.png", clean), (out / "rain" / "X2" / f"norain-{i}x2.png", rainy)):
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.clip(np.rint(img * 255), 0, 255).astype(np.uint8)).save(path)


def train(config: str, data: Path, out: Path, steps: int | None) -> dict:
    cmd = [sys.executable, "-m", "samdistill.cli.main", "train", "-c", str(ROOT / "configs" / "quickstart" / config),
           "--output-dir", str(out), "data.train.layout=rain200", f"data.train.root={data / 'train'}",
           "data.val.layout=rain200", f"data.val.root={data / 'test'}", "train.tensorboard=false"]
    if steps:
        cmd += [f"train.steps={steps}", f"train.val_every={steps}", f"train.save_every={steps}"]
    subprocess.run(cmd, check=True)
    return json.loads((out / "val_history.json").read_text())[-1]


def main() -> None:
    from samdistill.data.embedded import TEST_PHOTOS, TRAIN_PHOTOS

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("runs/quickstart_check"))
    ap.add_argument("--steps", type=int, help="shorter runs than the configs' 2000 steps")
    args = ap.parse_args()
    data = args.out / "data"
    write_rain200(data / "train", TRAIN_PHOTOS, seed=1)
    write_rain200(data / "test", TEST_PHOTOS, seed=2)
    rows = {name: train(f"{name}.yaml", data, args.out / name, args.steps) for name in ("baseline", "sam4ir")}
    rows["difference"] = {k: rows["sam4ir"][k] - rows["baseline"][k] for k in ("psnr", "ssim")}
    (args.out / "results.json").write_text(json.dumps(rows, indent=1))
    for name, r in rows.items():
        print(f"{name:<10} PSNR {r['psnr']:+.3f} dB  SSIM {r['ssim']:+.4f}" if name == "difference"
              else f"{name:<10} PSNR {r['psnr']:.3f} dB  SSIM {r['ssim']:.4f}")


if __name__ == "__main__":
    main()
