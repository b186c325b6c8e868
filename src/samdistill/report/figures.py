"""Pictures for reports: side-by-side image strips and training curves (matplotlib, Agg)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np


def image_strip(rows: Sequence[Sequence[np.ndarray]], gap: int = 4) -> np.ndarray:
    """Tile rows of equally sized HxWx3 float images into one uint8 picture with white gaps."""
    if not rows:
        raise ValueError("image_strip needs at least one row")
    h = max(img.shape[0] for row in rows for img in row)
    w = max(img.shape[1] for row in rows for img in row)
    ncol = max(len(r) for r in rows)
    canvas = np.ones((len(rows) * (h + gap) - gap, ncol * (w + gap) - gap, 3), np.float32)
    for r, row in enumerate(rows):
        for c, img in enumerate(row):
            y, x = r * (h + gap), c * (w + gap)
            canvas[y:y + img.shape[0], x:x + img.shape[1]] = np.clip(img, 0, 1)
    return (canvas * 255.0 + 0.5).astype(np.uint8)


def save_strip(path: str | Path, rows, labels: Sequence[str], gap: int = 4) -> Path:
    """Image strip with column labels drawn above (matplotlib text, no font files needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    strip = image_strip(rows, gap)
    dpi = 100
    fig = plt.figure(figsize=(strip.shape[1] / dpi, (strip.shape[0] + 24) / dpi), dpi=dpi)
    ax = fig.add_axes([0, 0, 1, strip.shape[0] / (strip.shape[0] + 24)])
    ax.imshow(strip, interpolation="nearest")
    ax.axis("off")
    ncol = len(labels)
    for i, label in enumerate(labels):
        fig.text((i + 0.5) / ncol, 1 - 12 / (strip.shape[0] + 24), label, ha="center", va="center", fontsize=9)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def save_curves(path: str | Path, runs: dict[str, dict[str, list]], title: str = "") -> Path:
    """Two panels: training loss and validation PSNR per step, one line per run.

    runs: {label: {"train": [{"step", "loss"}...], "val": [{"step", "psnr"}...]}}
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_psnr) = plt.subplots(1, 2, figsize=(10, 3.6))
    for label, hist in runs.items():
        tr = [p for p in hist.get("train", []) if "loss_ir1" in p or "loss" in p]
        if tr:
            ax_loss.plot([p["step"] for p in tr], [p.get("loss_ir1", p.get("loss")) for p in tr], label=label)
        val = [p for p in hist.get("val", []) if p.get("psnr") is not None]
        if val:
            ax_psnr.plot([p["step"] for p in val], [p["psnr"] for p in val], marker="o", label=label)
    ax_loss.set(xlabel="step", ylabel="IR1 reconstruction loss", yscale="log", title="training")
    ax_psnr.set(xlabel="step", ylabel="PSNR (dB)", title="validation (shipped network)")
    for ax in (ax_loss, ax_psnr):
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def class_legend(label_maps: Sequence[np.ndarray], class_names: Sequence[str],
                 colors: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """(name, uint8 RGB) of every class id present in `label_maps`, in id order; ids without a name
    (255 = ignore) are left out. `colors` is the lookup the maps were colorized with."""
    present = sorted({int(i) for m in label_maps for i in np.unique(np.asarray(m))})
    return [(class_names[i], np.asarray(colors[i], np.uint8)) for i in present if i < len(class_names)]


def save_labeled_rows(path: str | Path, rows: Sequence[np.ndarray], row_labels: Sequence[str],
                      legend: Sequence[tuple[str, np.ndarray]] = (), gap: int = 4, margin: int = 150) -> Path:
    """Images stacked top to bottom, each row named on its left, and a color key of the classes
    below (what each color of a label map means): a segmentation picture readable on its own."""
    if len(rows) != len(row_labels):
        raise ValueError(f"{len(rows)} rows but {len(row_labels)} row labels")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    strip = image_strip([[np.asarray(r, np.float32) / (255.0 if np.asarray(r).dtype == np.uint8 else 1.0)]
                         for r in rows], gap)
    row_h = (strip.shape[0] + gap) / len(rows)
    per_line = max(1, (strip.shape[1] + margin) // 130)  # legend entries per line, ~130 px each
    legend_h = 18 * -(-len(legend) // per_line) + (8 if legend else 0)
    width, height, dpi = strip.shape[1] + margin, strip.shape[0] + legend_h, 100
    fig = plt.figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    ax = fig.add_axes([margin / width, legend_h / height, strip.shape[1] / width, strip.shape[0] / height])
    ax.imshow(strip, interpolation="nearest")
    ax.axis("off")
    for i, label in enumerate(row_labels):
        y = 1 - (i + 0.5) * row_h / height  # rows fill the figure from the top
        fig.text(6 / width, y, label, ha="left", va="center", fontsize=9)
    for k, (name, color) in enumerate(legend):
        x = (6 + (k % per_line) * 130) / width
        y = (legend_h - 14 - 18 * (k // per_line)) / height
        fig.patches.append(Rectangle((x, y), 12 / width, 12 / height, transform=fig.transFigure,
                                     facecolor=np.asarray(color) / 255.0, edgecolor="black", linewidth=0.5))
        fig.text(x + 16 / width, y + 6 / height, name, ha="left", va="center", fontsize=8)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
