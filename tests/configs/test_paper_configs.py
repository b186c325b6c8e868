"""Every shipped config loads, and the SAM4IR paper rows carry the paper's settings.

Loads each YAML under configs/ (files starting with `_` are bases, reached through `_base_`).
No training happens here.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from samdistill.config.base import StrictModel
from samdistill.config.experiment import ExperimentConfig
from samdistill.config.loader import load_config
from samdistill.models.registry import list_backbones

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
README = CONFIGS / "README.md"
ALL = sorted(p for p in CONFIGS.rglob("*.yaml") if not p.name.startswith("_"))
PAPER = [p for p in ALL if p.relative_to(CONFIGS).parts[0] == "paper"]
PAPER_AND_ABLATIONS = [p for p in ALL if p.relative_to(CONFIGS).parts[0] in ("paper", "sam4ir")]
PLUS = [p for p in PAPER if p.stem.endswith("_plus")]

# SAM4IR §4.1: training pairs per dataset (DDN: 900 clean images x 14 renderings).
TRAIN_PAIRS = {"rain200l": 1800, "rain200h": 1800, "did": 12000, "ddn": 12600, "gopro": 2103}
LAYOUT = {"rain200l": "rain200", "rain200h": "rain200", "did": "didmdn", "ddn": "ddn", "gopro": "gopro",
          "sensenoise": "folders", "cityscape_syn100": "restormer", "cityscape_syn200": "restormer"}
# Each network trains with its own paper's loss.
LOSS = {"rcdnet": {"name": "rcdnet_multistage"},
        "efficientderain": {"name": "l1_ssim", "ssim_weight": 0.2},
        "uformer_b": {"name": "charbonnier", "charbonnier_eps": 1e-3}}


def _rel(path: Path) -> str:
    return path.relative_to(CONFIGS).as_posix()


def _dataset(path: Path) -> str:
    return path.parent.name


def _expected_paper_files() -> set[str]:
    rows = [f"table1/{d}/{n}" for d in ("rain200l", "rain200h", "did", "ddn") for n in ("rcdnet", "efficientderain")]
    rows += [f"table2/cityscape_syn{mm}/{n}" for mm in (100, 200) for n in ("rcdnet", "efficientderain")]
    rows += ["table3/gopro/uformer_b", "table4/sensenoise/uformer_b"]
    return {f"paper/{r}{suffix}.yaml" for r in rows for suffix in ("", "_plus")}


def test_every_paper_row_has_a_baseline_and_a_plus_config():
    assert {_rel(p) for p in PAPER} == _expected_paper_files()


@pytest.mark.parametrize("path", ALL, ids=_rel)
def test_config_loads_with_a_registered_backbone(path: Path):
    cfg = load_config(path)
    assert cfg.model.name in list_backbones(), f"{_rel(path)}: model.name {cfg.model.name!r} is not registered"


@pytest.mark.parametrize("path", PAPER_AND_ABLATIONS, ids=_rel)
def test_training_settings_are_the_papers(path: Path):
    cfg = load_config(path)
    opt = cfg.train.optimizer
    assert (opt.name, opt.lr, opt.betas, opt.weight_decay) == ("adam", 1e-4, (0.9, 0.999), 0.0)
    assert cfg.train.schedule.name == "constant"
    assert cfg.data.batch_size == 8


@pytest.mark.parametrize("path", PAPER, ids=_rel)
def test_paper_row_data_loss_and_metric(path: Path):
    cfg = load_config(path)
    dataset = _dataset(path)
    assert cfg.data.train.layout == cfg.data.val.layout == LAYOUT[dataset]
    assert cfg.data.train.root != cfg.data.val.root  # separate train and test placeholders
    assert cfg.data.repeat == 1  # an epoch is one pass, as the paper counts them
    assert cfg.train.loss.model_dump(include=set(LOSS[cfg.model.name])) == LOSS[cfg.model.name]
    deraining = path.parts[-3] in ("table1", "table2")
    assert cfg.eval.y_channel is deraining
    if dataset in TRAIN_PAIRS:  # 200 epochs of batches of 8
        assert cfg.train.steps == 200 * math.ceil(TRAIN_PAIRS[dataset] / 8)


@pytest.mark.parametrize("plus", PLUS, ids=_rel)
def test_plus_row_differs_from_its_baseline_only_by_the_framework(plus: Path):
    baseline = plus.with_name(plus.stem.removesuffix("_plus") + ".yaml")
    base_cfg, plus_cfg = load_config(baseline), load_config(plus)
    base_dump, plus_dump = base_cfg.model_dump(), plus_cfg.model_dump()
    changed = {k for k in base_dump if base_dump[k] != plus_dump[k]}
    assert changed == {"sam4ir", "name", "output_dir"}, f"{_rel(plus)} vs {_rel(baseline)}: {sorted(changed)}"
    assert not base_cfg.sam4ir.enabled and plus_cfg.sam4ir.enabled


@pytest.mark.parametrize("plus", PLUS, ids=_rel)
def test_plus_row_uses_the_paper_framework_defaults(plus: Path):
    cfg = load_config(plus)
    s = cfg.sam4ir
    assert s.cascade and s.spf.enabled and s.spd.enabled and s.sgr.enabled
    assert (s.prior_source, s.spd.weight, s.sgr.weight, s.sgr.features) == ("restored", 0.005, 200.0, "vgg16")
    assert s.sgr.vgg_weights == "weights/vgg16-397923af.pth"
    assert (cfg.priors.backend, cfg.priors.sam.checkpoint) == ("sam", "weights/sam_vit_h_4b8939.pth")


def _header(path: Path) -> str:
    lines = path.read_text(encoding="utf-8").splitlines()
    return " ".join(line for line in lines if line.startswith("#"))


@pytest.mark.parametrize("path", PAPER, ids=_rel)
def test_header_names_the_paper_row_and_readme_quotes_the_same_psnr(path: Path):
    header = _header(path)
    table = int(path.parts[-3].removeprefix("table"))
    assert header.startswith(f"# SAM4IR Table {table},"), f"{_rel(path)}: header must name its paper table"
    psnr = re.search(r"PSNR (\d+\.\d+)", header)
    assert psnr, f"{_rel(path)}: header must quote the paper's PSNR"
    rows = [line for line in README.read_text(encoding="utf-8").splitlines() if f"`{_rel(path)}`" in line]
    assert len(rows) == 1, f"configs/README.md must list {_rel(path)} exactly once"
    assert f"| {psnr.group(1)} |" in rows[0], f"configs/README.md row of {_rel(path)} lacks PSNR {psnr.group(1)}"


def _config_keys(model: type[StrictModel], prefix: str = "", seen: dict | None = None) -> list[str]:
    """Every dotted key; a section type met again (data.val, goodsam.ta, ...) is listed once and
    yields a `same keys as` entry instead."""
    seen = {} if seen is None else seen
    keys = []
    for name, field in model.model_fields.items():
        sub = next((a for a in (field.annotation, *getattr(field.annotation, "__args__", ()))
                    if isinstance(a, type) and issubclass(a, StrictModel)), None)
        if sub is not None and sub in seen:
            keys.append(("same", prefix + name, seen[sub]))
        elif sub is not None:
            seen[sub] = prefix + name
            keys += _config_keys(sub, f"{prefix}{name}.", seen)
        else:
            keys.append(prefix + name)
    return keys


def test_readme_documents_every_config_key():
    text = README.read_text(encoding="utf-8")
    flat = " ".join(text.split())
    missing = [k for k in _config_keys(ExperimentConfig) if isinstance(k, str) and f"| `{k}` |" not in text]
    missing += [f"{k[1]} (same keys as {k[2]})" for k in _config_keys(ExperimentConfig)
                if isinstance(k, tuple) and f"`{k[1]}`" not in flat]
    assert not missing, f"configs/README.md key reference lacks {missing}: regenerate it (see the README)"
