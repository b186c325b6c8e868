"""Do the README's demo figures match what `samdistill demo` prints? Exit 0 if they all do, 1 if
any differs (each difference listed), 2 if the README table or the demo output cannot be read.

    .venv/bin/python benchmarks/results/readme_demo_check.py                    # runs `samdistill demo --quick` (~3 min)
    .venv/bin/python benchmarks/results/readme_demo_check.py --profile full     # the full demo (~20 min)
    .venv/bin/python benchmarks/results/readme_demo_check.py --output demo.log  # check a saved demo output instead
    .venv/bin/python benchmarks/results/readme_demo_check.py --json check.json  # also the figures compared, as JSON

The printed figures are rounded as the README prints them (PSNR 2 decimals, SSIM 3) and compared
as text: the demo is deterministic (seed 0), so any difference is a real change.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
TABLE_HEADER = "| embedded-rain test"
# README row -> the label `samdistill demo` prints
ROWS = {"input (rainy)": "input (rainy)", "baseline": "baseline", "SAM4IR": "SAM4IR framework"}
PRINTED = re.compile(r"^\s*(?P<label>\S.*?)\s+PSNR\s+(?P<psnr>-?\d+\.\d+) dB\s+SSIM\s+(?P<ssim>-?\d+\.\d+)\s*$")


class Unreadable(Exception):
    pass


def readme_figures(text: str) -> dict[str, dict[str, dict[str, str]]]:
    """{profile: {printed label: {"psnr": "19.36", "ssim": "0.551"}}} from the README's demo table."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(TABLE_HEADER)), None)
    if start is None:
        raise Unreadable(f"no table starting with {TABLE_HEADER!r} in the README")
    header = [c.strip() for c in lines[start].strip("|").split("|")]
    columns = {(profile, metric): header.index(name) for profile in ("quick", "full")
               for metric, name in (("psnr", f"{profile} PSNR (dB)"), ("ssim", f"{profile} SSIM")) if name in header}
    if len(columns) != 4:
        raise Unreadable(f"README demo table header {header} lacks quick/full PSNR (dB)/SSIM columns")
    figures: dict[str, dict[str, dict[str, str]]] = {"quick": {}, "full": {}}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        label = next((printed for prefix, printed in ROWS.items() if cells[0].startswith(prefix)), None)
        if label is None:
            continue
        for (profile, metric), col in columns.items():
            figures[profile].setdefault(label, {})[metric] = cells[col]
    missing = [f"{p}: {label}" for p in figures for label in ROWS.values() if label not in figures[p]]
    if missing:
        raise Unreadable(f"README demo table lacks rows: {', '.join(missing)}")
    return figures


def printed_figures(output: str) -> dict[str, dict[str, float]]:
    found = {}
    for line in output.splitlines():
        match = PRINTED.match(line)
        if match:
            found[match["label"]] = {"psnr": float(match["psnr"]), "ssim": float(match["ssim"])}
    if not all(label in found for label in ROWS.values()):
        raise Unreadable("the demo output has no 'LABEL  PSNR x dB  SSIM y' line for "
                         + ", ".join(label for label in ROWS.values() if label not in found))
    return found


def differences(readme: dict[str, dict[str, str]], printed: dict[str, dict[str, float]]) -> list[str]:
    out = []
    for label, cells in readme.items():
        for metric, decimals in (("psnr", 2), ("ssim", 3)):
            measured = f"{printed[label][metric]:.{decimals}f}"
            if measured != cells[metric]:
                out.append(f"{label} {metric.upper()}: README {cells[metric]}, demo prints {measured} "
                           f"({printed[label][metric]})")
    return out


def run_demo(profile: str) -> str:
    with tempfile.TemporaryDirectory(prefix="readme-demo-") as out:
        cmd = [sys.executable, "-m", "samdistill.cli.main", "demo", "--out", out] + (["--quick"] if profile == "quick" else [])
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise Unreadable(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        return done.stdout + done.stderr  # the figures go to stderr with the logs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", choices=["quick", "full"], default="quick")
    ap.add_argument("--output", type=Path, help="a saved `samdistill demo` output to check instead of running it")
    ap.add_argument("--readme", type=Path, default=README)
    ap.add_argument("--json", type=Path, metavar="PATH", help="also write the README's and the demo's figures and "
                    "every difference as JSON to PATH")
    args = ap.parse_args()
    try:
        expected = readme_figures(args.readme.read_text(encoding="utf-8"))[args.profile]
        output = args.output.read_text(encoding="utf-8") if args.output else run_demo(args.profile)
        printed = printed_figures(output)
        problems = differences(expected, printed)
    except Unreadable as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"profile": args.profile, "readme": expected, "demo": printed,
                                         "differences": problems}, indent=2) + "\n", encoding="utf-8")
    if problems:
        print(f"README {args.profile} demo figures differ from the demo's:\n  " + "\n  ".join(problems))
        return 1
    print(f"README {args.profile} demo figures match the demo's ({len(expected)} rows, PSNR and SSIM)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
