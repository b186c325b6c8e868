"""`samdistill demo pano` end to end at a few steps on a tiny world (wiring, not quality)."""
import json

import pytest
from typer.testing import CliRunner

from samdistill.cli.main import app


@pytest.mark.slow
def test_pano_demo_writes_a_consistent_report(tmp_path):
    from samdistill.world.build import WorldBuildConfig, build_world

    world = tmp_path / "world"
    build_world(world, WorldBuildConfig(pinhole_train=4, pinhole_val=0, pano_train=2, pano_val=2,
                                        pinhole_size=(32, 64), pano_size=(32, 160)), progress=False)
    out = tmp_path / "report"
    res = CliRunner().invoke(app, [
        "demo", "pano", "--quick", "--out", str(out),  # the world's exact masks by default
        f"goodsam.data.source.root={world / 'pinhole'}", f"goodsam.data.target.root={world / 'pano'}",
        f"goodsam.data.val.root={world / 'pano'}", f"priors.world.roots=[{world / 'pano'}]",
        f"priors.cache_dir={tmp_path / 'masks'}", "goodsam.windows.window=32", "goodsam.windows.stride=24",
        "goodsam.data.source_crop=[32,32]", "goodsam.data.batch_size=2", "goodsam.data.num_masks=8",
        "train.steps=2", "train.val_every=2", "train.save_every=2",
    ])
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    rows = summary["rows"]
    assert summary["segmenter"] == "world"
    gain = rows["gain (GoodSAM - source-only)"][0]
    assert gain == pytest.approx(rows["GoodSAM student"][0] - rows["source-only student"][0])
    for name, (miou, acc) in rows.items():
        if not name.startswith("gain"):
            assert 0 <= miou <= 100 and 0 <= acc <= 100, name
    for name in ("report.md", "report.html", "strip.png", "ensemble.png"):
        assert (out / name).stat().st_size > 300, name
    report = (out / "report.md").read_text()
    assert f"{rows['GoodSAM student'][0]:.4f}" in report
    # the report leads with the one comparison, and names the masks for what they are
    first = next(line for line in report.splitlines()[1:] if line.strip())
    so, gs = rows["source-only student"][0], rows["GoodSAM student"][0]
    assert first == f"**GoodSAM student {gs:.2f} mIoU vs source-only {so:.2f} ({gs - so:+.2f})**"
    assert "ideal SAM" in report and "from the checkpoint" not in report
    # the shipped student of both runs has the same size
    from samdistill.models.artifact import load_model_artifact

    sizes = {sum(p.numel() for p in load_model_artifact(out / r / "model.safetensors").parameters())
             for r in ("source_only", "goodsam")}
    assert len(sizes) == 1


def test_unknown_demo_is_a_clear_error():
    res = CliRunner().invoke(app, ["demo", "panorama"])
    assert res.exit_code == 2 and "rain or pano" in res.output


def test_pano_demo_runs_the_shipped_embedded_recipe(tmp_path):
    """The demo is the embedded configs' recipe, shortened: same windows, label-making TA, optimizer and
    data settings; only sizes, steps and (the GoodSAM run) the profile's learning rate differ."""
    from samdistill.config.loader import load_config
    from samdistill.demos.pano import PROFILES, demo_configs

    demo = demo_configs(tmp_path, "full", ["priors.backend=world"])
    shipped = load_config("configs/goodsam/embedded/adapt.yaml", [])
    d, g = demo["goodsam"], shipped
    ignore = {"student", "ta", "data"}
    assert d.goodsam.model_dump(exclude=ignore) == g.goodsam.model_dump(exclude=ignore)
    assert d.goodsam.data.model_dump(exclude={"source", "target", "val"}) == \
        g.goodsam.data.model_dump(exclude={"source", "target", "val"})
    assert d.train.optimizer.model_dump(exclude={"lr"}) == g.train.optimizer.model_dump(exclude={"lr"})
    assert d.train.optimizer.lr == PROFILES["full"]["adapt_lr"] and d.train.schedule == g.train.schedule
    assert demo_configs(tmp_path, "full", ["train.optimizer.lr=5e-4"])["goodsam"].train.optimizer.lr == 5e-4
    assert d.priors.backend == g.priors.backend == "world"
    assert demo["stage1"].train.optimizer == load_config("configs/goodsam/embedded/source.yaml", []).train.optimizer
