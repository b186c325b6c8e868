"""What `samdistill compare` reads: evaluation reports of runs, grouped by dataset.

A RUN argument is
- an evaluation JSON (`metrics.json` written by `samdistill eval` or `samdistill metrics --out`), or
- a folder: its `metrics.json` if it has one, else every `metrics.json` below it (at most 3 levels
  deep, e.g. a training run's `eval/metrics.json`, or `eval/<dataset>/metrics.json` for several
  test sets), one per dataset.

A report's dataset is its "dataset" field (`samdistill eval` writes "layout:name-or-root/split");
without one, the path of its folder relative to the run folder (e.g. "eval"), or "dataset" for a
JSON given directly. A run label is the folder's name, or the JSON's stem (its folder's name for a
`metrics.json`); `labels` override them.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

from samdistill.core.errors import DataError

MAX_DEPTH = 3


@dataclass
class Run:
    label: str
    source: Path
    reports: dict[str, dict] = field(default_factory=dict)  # dataset -> report
    files: dict[str, Path] = field(default_factory=dict)     # dataset -> its JSON file


def _number(value):
    """Strict JSON has no infinity: reports write "inf" / "-inf" / "nan" as strings."""
    if isinstance(value, str) and value in ("inf", "-inf", "nan"):
        return float(value)
    return value


def _decode(obj):
    if isinstance(obj, dict):
        return {k: _decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v) for v in obj]
    return _number(obj)


def read_report(path: Path) -> dict:
    """An evaluation report; errors name the file and what is wrong with it."""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: cannot read: {err}") from None
    except json.JSONDecodeError as err:
        raise DataError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(report, dict) or not isinstance(report.get("images"), list):
        raise DataError(f"{path}: not an evaluation report (no per-image \"images\" list; write one with "
                        "`samdistill eval` or `samdistill metrics --out`)")
    for i, row in enumerate(report["images"]):
        if not isinstance(row, dict) or not isinstance(row.get("name"), str):
            raise DataError(f"{path}: images[{i}] has no \"name\"")
        for key in ("psnr", "ssim"):
            if not isinstance(_number(row.get(key)), (int, float)):
                raise DataError(f"{path}: images[{i}] ({row['name']}) has no numeric \"{key}\"")
    names = [row["name"] for row in report["images"]]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DataError(f"{path}: image names repeat ({', '.join(repeated[:5])}); a paired comparison needs unique names")
    return _decode(report)


def dataset_label(report: dict, json_path: Path, run_root: Optional[Path]) -> str:
    dataset = report.get("dataset")
    if isinstance(dataset, dict) and dataset.get("label"):
        return str(dataset["label"])
    if isinstance(dataset, str) and dataset:
        return dataset
    if run_root is not None and json_path.parent != run_root:
        return json_path.parent.relative_to(run_root).as_posix()
    return "dataset"


def _find_reports(folder: Path) -> list[Path]:
    if (folder / "metrics.json").is_file():
        return [folder / "metrics.json"]
    found = []
    for depth in range(1, MAX_DEPTH + 1):
        found += sorted(folder.glob("/".join(["*"] * depth) + "/metrics.json"))
    return found


def load_run(arg: str | Path, label: Optional[str] = None) -> Run:
    path = Path(arg).expanduser()
    if path.is_file():
        default = path.parent.name if path.stem == "metrics" else path.stem
        run = Run(label or default or str(path), path)
        files, root = [path], None
    elif path.is_dir():
        files, root = _find_reports(path), path
        if not files:
            raise DataError(f"{path}: no metrics.json in this run folder (nor up to {MAX_DEPTH} levels below); "
                            "write one with `samdistill eval`")
        run = Run(label or path.resolve().name, path)
    else:
        raise DataError(f"{path}: no such evaluation JSON or run folder")
    for file in files:
        report = read_report(file)
        name = dataset_label(report, file, root)
        if name in run.reports:
            raise DataError(f"{run.files[name]} and {file} both evaluate dataset {name!r} in run {run.label!r}; "
                            "pass the JSON files themselves")
        run.reports[name], run.files[name] = report, file
    return run


def load_runs(args: Sequence[str | Path], labels: Optional[Sequence[str]] = None) -> list[Run]:
    if len(args) < 2:
        raise DataError(f"compare needs at least two runs, got {len(args)}")
    if labels is not None and len(labels) != len(args):
        raise DataError(f"{len(labels)} labels for {len(args)} runs")
    runs = [load_run(a, labels[i] if labels else None) for i, a in enumerate(args)]
    seen: dict[str, int] = {}
    for run in runs:  # two runs called "eval" become "eval" and "eval#2"
        seen[run.label] = seen.get(run.label, 0) + 1
        if seen[run.label] > 1:
            run.label = f"{run.label}#{seen[run.label]}"
    return runs


def common_datasets(runs: list[Run]) -> list[str]:
    """Datasets every run evaluated, in the first run's order; none in common is an error."""
    shared = [d for d in runs[0].reports if all(d in r.reports for r in runs[1:])]
    if not shared:
        listing = "; ".join(f"{r.label}: {', '.join(r.reports)}" for r in runs)
        raise DataError(f"the runs share no dataset ({listing}); datasets come from each report's \"dataset\" "
                        "field or its folder")
    return shared


def matched_rows(a: Run, b: Run, dataset: str) -> tuple[list[dict], list[dict]]:
    """The per-image rows of A and B in one order; different image sets are an error naming them."""
    rows_a = {r["name"]: r for r in a.reports[dataset]["images"]}
    rows_b = {r["name"]: r for r in b.reports[dataset]["images"]}
    only_a, only_b = sorted(set(rows_a) - set(rows_b)), sorted(set(rows_b) - set(rows_a))
    if only_a or only_b:
        def listing(names: list[str]) -> str:
            more = f" and {len(names) - 10} more" if len(names) > 10 else ""
            return ", ".join(names[:10]) + more

        parts = []
        if only_a:
            parts.append(f"{len(only_a)} image(s) of {a.label} ({a.files[dataset]}) missing from {b.label} "
                         f"({b.files[dataset]}): {listing(only_a)}")
        if only_b:
            parts.append(f"{len(only_b)} image(s) of {b.label} ({b.files[dataset]}) missing from {a.label} "
                         f"({a.files[dataset]}): {listing(only_b)}")
        raise DataError(f"dataset {dataset!r}: the runs scored different images; " + "; ".join(parts))
    names = [r["name"] for r in a.reports[dataset]["images"]]
    return [rows_a[n] for n in names], [rows_b[n] for n in names]

