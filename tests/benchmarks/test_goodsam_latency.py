"""benchmarks/speed/goodsam_latency.py on a tiny input: rows, ratios to the student, thread count restored."""
from __future__ import annotations


import torch

from _scripts import load_script


def _bench():
    return load_script("speed/goodsam_latency.py")


def test_latency_rows_and_student_ratios() -> None:
    bench = _bench()
    threads_before = torch.get_num_threads()
    rows = bench.run(["tiny", "mini"], [1], height=64, width=128, runs=2, warmup=0)
    assert torch.get_num_threads() == threads_before
    assert [(r["model"], r["threads"]) for r in rows] == [("tiny", 1), ("mini", 1)]
    from samdistill.models.segformer import SegmentationNet

    params = {n: sum(p.numel() for p in SegmentationNet.build(n, 19).parameters()) for n in ("tiny", "mini")}
    assert rows[0]["vs_student"] == 1.0 and [r["params"] for r in rows] == [params["tiny"], params["mini"]]
    assert rows[1]["vs_student"] == rows[1]["median_s"] / rows[0]["median_s"]
    assert all(r["min_s"] <= r["median_s"] and len(r["runs_s"]) == 2 for r in rows)
    assert f"| mini | {params['mini']:,} | 1 |" in bench.table(rows, 64, 128, 2)
