"""A self-contained HTML report of a comparison: `DIR/index.html` + `DIR/img/*.png`, no network.

The page holds the comparison table (every run, the "+" rows, the bootstrap intervals), then for
the first two runs A and B of each dataset the `top` images where B gains most and loses most
against A by one per-image metric, each as a strip input | A | B | GT with the detail where the two
restorations differ most outlined, and the same four crops of that detail enlarged (nearest
neighbour), then every image's metrics. Numbers are printed with the Markdown table's formatting
and carry their exact value in `data-value`. A small script records, once every image has loaded,
how many decoded (naturalWidth > 0) in `#load-check` (what the browser test reads).
"""
from __future__ import annotations

import html
from pathlib import Path
from typing import Optional

import numpy as np

from samdistill.compare.runs import Run, matched_rows
from samdistill.compare.table import BY_KEY, METRICS, ci_text, fmt, improved_text, shown_metrics
from samdistill.core.errors import DataError

RANK_METRICS = ("psnr", "ssim", "lpips")
ZOOM_TARGET = 192  # pixels: the enlarged crops are about this wide


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def _cell(metric_key: str, value: Optional[float], signed: bool = False, extra: str = "") -> str:
    metric = BY_KEY[metric_key]
    exact = "" if value is None else f' data-value="{_esc(repr(float(value)))}"'
    return f'<td class="num" data-key="{metric_key}"{exact}{extra}>{_esc(fmt(metric, value, signed))}</td>'


# ---------------------------------------------------------------- images

def _read(path: str, what: str, run: str) -> np.ndarray:
    from samdistill.data.io import read_image

    if not path:
        raise DataError(f"{run}: no {what} path in the report; the HTML report needs it "
                        "(evaluate with eval.save_images=true to keep the restored images)")
    return read_image(Path(path))


def detail_box(err_a: np.ndarray, err_b: np.ndarray, size: int, b_gains: bool) -> tuple[int, int, int]:
    """(top, left, size) of the square window where B's error is most below A's (`b_gains`) or above it."""
    h, w = err_a.shape
    size = max(1, min(size, h, w))
    diff = (err_a - err_b) if b_gains else (err_b - err_a)
    integral = np.pad(diff, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    sums = integral[size:, size:] - integral[:-size, size:] - integral[size:, :-size] + integral[:-size, :-size]
    top, left = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return int(top), int(left), size


def _save_png(path: Path, img: np.ndarray) -> None:
    from samdistill.data.io import write_image

    write_image(path, img)


def _zoom(crop: np.ndarray) -> np.ndarray:
    factor = max(1, ZOOM_TARGET // max(crop.shape[:2]))
    return np.repeat(np.repeat(crop, factor, axis=0), factor, axis=1)


def _panel(out: Path, key: str, rows: dict, labels: tuple[str, str], b_gains: bool) -> dict:
    """Write the four images and their zoomed crops of one selected image; returns what the page shows."""
    row_a, row_b = rows["a"], rows["b"]
    images = {"input": _read(row_a.get("lq_path"), "input image (lq_path)", labels[0]),
              labels[0]: _read(row_a.get("restored_path"), "restored image (restored_path)", labels[0]),
              labels[1]: _read(row_b.get("restored_path"), "restored image (restored_path)", labels[1]),
              "GT": _read(row_a.get("gt_path"), "ground truth (gt_path)", labels[0])}
    shapes = {name: img.shape for name, img in images.items()}
    if len(set(shapes.values())) != 1:
        raise DataError(f"{row_a['name']}: the images differ in size: " + ", ".join(f"{k} {v[1]}x{v[0]}" for k, v in shapes.items()))
    gt = images["GT"]
    err_a = np.abs(images[labels[0]] - gt).mean(-1)
    err_b = np.abs(images[labels[1]] - gt).mean(-1)
    h, w = gt.shape[:2]
    top, left, size = detail_box(err_a, err_b, max(16, min(h, w) // 4), b_gains)
    tiles = []
    for i, (name, img) in enumerate(images.items()):
        full, zoom = f"img/{key}_{i}.png", f"img/{key}_{i}_zoom.png"
        _save_png(out / full, img)
        _save_png(out / zoom, _zoom(img[top:top + size, left:left + size]))
        tiles.append({"title": name, "full": full, "zoom": zoom})
    box = {"top": 100 * top / h, "left": 100 * left / w, "height": 100 * size / h, "width": 100 * size / w}
    return {"tiles": tiles, "box": box, "detail": (left, top, size)}


# ---------------------------------------------------------------- page

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:.25em .5em}
td.num{text-align:right;font-variant-numeric:tabular-nums}tr.delta td{font-weight:bold;background:#f4f7ff}
figure{margin:0}.strip{display:flex;gap:6px;flex-wrap:wrap;margin:.3em 0}.tile{position:relative;width:24%;min-width:120px}
.tile img{width:100%;image-rendering:pixelated;display:block}.tile .box{position:absolute;border:2px solid #f30}
.zoom img{width:100%;image-rendering:pixelated}figcaption{font-size:.85em;text-align:center}
.gain{color:#070}.loss{color:#b00}
"""

_SCRIPT = """
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var broken = imgs.filter(function (im) { return !(im.complete && im.naturalWidth > 0); })
                   .map(function (im) { return im.getAttribute('src'); });
  var out = document.getElementById('load-check');
  out.textContent = JSON.stringify({total: imgs.length, loaded: imgs.length - broken.length, broken: broken});
  out.setAttribute('data-done', '1');
});
"""


def _table_html(section: dict) -> list[str]:
    metrics = shown_metrics(section)
    out = ['<table class="runs"><tr><th>run</th>' + "".join(f"<th>{_esc(m.title)}</th>" for m in metrics) + "</tr>"]
    for row in section["rows"]:
        out.append(f'<tr data-row="{_esc(row["label"])}"><td>{_esc(row["label"])}</td>'
                   + "".join(_cell(m.key, row["values"].get(m.key)) for m in metrics) + "</tr>")
    for delta in section["deltas"]:
        out.append(f'<tr class="delta" data-row="+ ({_esc(delta["label"])})"><td>+ ({_esc(delta["label"])})</td>'
                   + "".join(_cell(m.key, delta["values"].get(m.key), signed=True) for m in metrics) + "</tr>")
    out.append("</table>")
    for delta in section["deltas"]:
        if not delta["ci"]:
            continue
        out.append(f'<table class="ci" data-delta="{_esc(delta["label"])}"><tr><th>{_esc(delta["label"])}</th>'
                   "<th>Δ</th><th>CI</th><th>images improved</th></tr>")
        for m in METRICS:
            ci = delta["ci"].get(m.key)
            if ci is None:
                continue
            out.append(f"<tr><td>{_esc(m.title)}</td>" + _cell(m.key, ci.get("delta"), signed=True)
                       + f"<td>{_esc(ci_text(m, ci))}</td><td>{_esc(improved_text(ci))}</td></tr>")
        out.append("</table>")
    return out


def _per_image_html(rows_a: list[dict], rows_b: list[dict], labels: tuple[str, str]) -> list[str]:
    keys = [k for k in RANK_METRICS if all(k in r for r in rows_a) and all(k in r for r in rows_b)]
    head = "".join(f"<th>{_esc(BY_KEY[k].title)} {_esc(labels[0])}</th><th>{_esc(BY_KEY[k].title)} {_esc(labels[1])}</th>"
                   f"<th>Δ</th>" for k in keys)
    out = [f'<table class="per-image"><tr><th>image</th>{head}</tr>']
    for ra, rb in zip(rows_a, rows_b):
        cells = "".join(_cell(k, ra[k]) + _cell(k, rb[k]) + _cell(k, rb[k] - ra[k], signed=True) for k in keys)
        out.append(f'<tr data-image="{_esc(ra["name"])}"><td>{_esc(ra["name"])}</td>{cells}</tr>')
    out.append("</table>")
    return out


def _panel_html(panel: dict, name: str, key: str, value: float, kind: str) -> list[str]:
    b = panel["box"]
    style = f'top:{b["top"]:.3f}%;left:{b["left"]:.3f}%;width:{b["width"]:.3f}%;height:{b["height"]:.3f}%'
    left, top, size = panel["detail"]
    out = [f'<h4 class="{kind}">{_esc(name)}: {_esc(BY_KEY[key].title)} Δ {_esc(fmt(BY_KEY[key], value, True))}'
           f' <small>(detail {size}×{size} px at x={left}, y={top})</small></h4>', '<div class="strip">']
    for t in panel["tiles"]:
        out.append(f'<figure class="tile"><img src="{_esc(t["full"])}" alt="{_esc(t["title"])}">'
                   f'<div class="box" style="{style}"></div><figcaption>{_esc(t["title"])}</figcaption></figure>')
    out.append('</div><div class="strip">')
    for t in panel["tiles"]:
        out.append(f'<figure class="tile zoom"><img src="{_esc(t["zoom"])}" alt="{_esc(t["title"])} detail">'
                   f'<figcaption>{_esc(t["title"])} (detail)</figcaption></figure>')
    out.append("</div>")
    return out


def write_html(out: Path, runs: list[Run], comparison: dict, top: int = 3, metric: str = "psnr") -> Path:
    """Write the report into `out` (created); returns index.html's path."""
    if metric not in RANK_METRICS:
        raise DataError(f"--metric {metric!r}: choose one of {', '.join(RANK_METRICS)}")
    out = Path(out)
    (out / "img").mkdir(parents=True, exist_ok=True)
    a, b = runs[0], runs[1]
    labels = (a.label, b.label)
    body = [f"<h1>Run comparison</h1><p>Runs: " + ", ".join(f"<b>{_esc(r['label'])}</b> (<code>{_esc(r['source'])}</code>)"
                                                          for r in comparison["runs"]) + "</p>"]
    boot = comparison["bootstrap"]
    for d_index, (dataset, section) in enumerate(comparison["datasets"].items()):
        body += [f'<section data-dataset="{_esc(dataset)}"><h2>{_esc(dataset)} ({section["images"]} images)</h2>']
        body += _table_html(section)
        body.append(f"<p>Intervals: paired percentile bootstrap over images, {boot['resamples']} resamples, seed "
                    f"{boot['seed']}, {100 * boot['confidence']:g} %; segmentation scores in percent points.</p>")
        if section.get("caution"):
            body.append(f'<p class="caution"><strong>{_esc(section["caution"])}</strong></p>')
        rows_a, rows_b = matched_rows(a, b, dataset)
        if not all(metric in r for r in rows_a + rows_b):
            raise DataError(f"dataset {dataset!r}: not every image has a per-image {metric!r}; rank by psnr or ssim")
        sign = -1.0 if not BY_KEY[metric].higher_is_better else 1.0
        gains = np.array([sign * (rb[metric] - ra[metric]) for ra, rb in zip(rows_a, rows_b)], np.float64)
        gains = np.where(np.isfinite(gains), gains, 0.0)  # identical images (inf PSNR) are not ranked
        order = np.argsort(-gains, kind="stable")
        picks = [("gain", i) for i in order[:top] if gains[i] > 0]
        picks += [("loss", i) for i in order[::-1][:top] if gains[i] < 0]
        body.append(f"<h3>Where {_esc(b.label)} gains and loses most against {_esc(a.label)} "
                    f"(per-image {_esc(BY_KEY[metric].title)})</h3>")
        if not picks:
            body.append("<p>No image differs.</p>")
        for kind, i in picks:
            key = f"d{d_index}_{kind}_{i}"
            panel = _panel(out, key, {"a": rows_a[i], "b": rows_b[i]}, labels, b_gains=(kind == "gain"))
            body += _panel_html(panel, rows_a[i]["name"], metric, rows_b[i][metric] - rows_a[i][metric], kind)
        body.append(f"<h3>Per-image metrics ({_esc(a.label)} vs {_esc(b.label)})</h3>")
        body += _per_image_html(rows_a, rows_b, labels)
        body.append("</section>")
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>samdistill comparison</title>"
            f"<style>{_STYLE}</style></head><body>\n" + "\n".join(body)
            + '\n<pre id="load-check" data-done="0"></pre>'
            + f"\n<script>{_SCRIPT}</script>\n</body></html>\n")
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
