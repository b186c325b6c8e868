"""Do validation images carry the masks training crops carry? (issue 21, item 1; no training)

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/method_studies/sam4ir_val_masks.py [--dataset embedded-street-rain]
        [--backend world] [--crops 400] [--out runs/val_masks]

For the training crops (data.crop_size, `priors.select: crop`) and for the full test images under
each `priors.val_select` (`image`: the whole image's N largest; `tiles`: per tile of the crop
size), prints the share of pixels on a mask boundary (the `boundary` encoding of the N channels),
the share covered by at least one mask and the non-empty channels per crop / tile; for `tiles`
also the boundary share without the pixels beside a tile seam (where a channel may switch masks).
Writes the same rows to --out/results.json.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from samdistill.config.loader import apply_overrides, config_from_dict
from samdistill.data.paired import PairedImageDataset
from samdistill.priors.encodings import boundary
from samdistill.priors.selection import tile_windows
from samdistill.sam4ir.priors import build_prior_provider


def seam_pixels(height: int, width: int, tile: int) -> np.ndarray:
    """`(H, W)` bool: pixels whose 4-neighbour lies in another tile."""
    owner = np.zeros((height, width), np.int64)
    for i, (win, (rows, cols)) in enumerate(tile_windows(height, width, tile)):
        owner[win.top + rows.start:win.top + rows.stop, win.left + cols.start:win.left + cols.stop] = i
    stack = torch.from_numpy(np.stack([owner == i for i in range(owner.max() + 1)]).astype(np.float32))[None]
    return boundary(stack)[0, 0].numpy() > 0


def stats(items: list[torch.Tensor], tile: int | None = None) -> dict:
    edge, covered, channels, off_seam = [], [], [], []
    for masks in items:
        b = boundary(masks[None])[0, 0].numpy() > 0
        edge.append(b.mean())
        covered.append((masks.numpy() > 0.5).any(0).mean())
        if tile is None:
            channels.append(int((masks.flatten(1).sum(1) > 0).sum()))
            continue
        seam = seam_pixels(*masks.shape[1:], tile)
        off_seam.append(b[~seam].mean())
        for win, _ in tile_windows(*masks.shape[1:], tile):
            part = masks[:, win.top:win.top + win.height, win.left:win.left + win.width]
            channels.append(int((part.flatten(1).sum(1) > 0).sum()))
    row = {"boundary": float(np.mean(edge)), "covered": float(np.mean(covered)),
           "nonempty_channels": float(np.mean(channels)), "items": len(items)}
    if off_seam:
        row["boundary_off_seams"] = float(np.mean(off_seam))
    return row


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="embedded-street-rain")
    ap.add_argument("--backend", default="world")
    ap.add_argument("--crops", type=int, default=400, help="training crops sampled")
    ap.add_argument("--out", type=Path, default=Path("runs/val_masks"))
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = ap.parse_args(argv)
    base = [f"data.train.name={args.dataset}", f"data.val.name={args.dataset}", "sam4ir.enabled=true",
            "sam4ir.prior_source=lq", f"priors.backend={args.backend}", *args.overrides]
    cfg = config_from_dict(apply_overrides({}, base), "val masks")
    train = PairedImageDataset(cfg.data.train, crop_size=cfg.data.crop_size, augment=cfg.data.augment,
                               prior_provider=build_prior_provider(cfg), repeat=max(1, args.crops // 100 + 1))
    rows = {"train crops": stats([train[i]["masks"] for i in range(min(args.crops, len(train)))])}
    for mode in ("image", "tiles"):
        c = config_from_dict(apply_overrides({}, base + [f"priors.val_select={mode}"]), "val masks")
        test = PairedImageDataset(c.data.val, prior_provider=build_prior_provider(c))
        items = [test[i]["masks"] for i in range(len(test))]
        rows[f"validation, val_select={mode}"] = stats(items, c.data.crop_size if mode == "tiles" else None)
    print(f"{args.dataset}, backend {args.backend}, N = {cfg.priors.num_masks}, crop {cfg.data.crop_size}")
    print("| masks | boundary px | boundary px off seams | covered px | non-empty channels per crop/tile |")
    print("|---|---|---|---|---|")
    for name, r in rows.items():
        off = f"{100 * r['boundary_off_seams']:.1f} %" if "boundary_off_seams" in r else ""
        print(f"| {name} | {100 * r['boundary']:.1f} % | {off} | {100 * r['covered']:.1f} % | "
              f"{r['nonempty_channels']:.1f} |")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps({"dataset": args.dataset, "backend": args.backend,
                                                       "rows": rows}, indent=1))
    return rows


if __name__ == "__main__":
    main()
