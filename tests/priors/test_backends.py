"""`priors.segmenter.BACKENDS` and `samdistill priors backends`: every backend the config accepts is
listed, with the fields its segmenter's fingerprint really has (SAM and SAM 2: tests/priors/sam)."""
from __future__ import annotations

import hashlib
import typing

import typer
from typer.testing import CliRunner

from samdistill.cli import priors as priors_cli
from samdistill.priors import segmenter as chooser
from samdistill.priors.config import OfflineSegmenterConfig, PriorsConfig, WorldSegmenterConfig
from samdistill.priors.offline import OfflineSegmenter
from samdistill.priors.world import WorldSegmenter


def test_every_configurable_backend_is_listed():
    names = set(typing.get_args(PriorsConfig.model_fields["backend"].annotation)) - {"auto"}
    assert set(chooser.BACKENDS) == names
    for info in chooser.BACKENDS.values():
        section = PriorsConfig()
        for part in info.config.split(".")[1:]:
            section = getattr(section, part)  # the named config section exists


def test_offline_fingerprint_fields_are_the_listed_ones():
    fields = set(chooser.BACKENDS["offline"].fingerprint_fields)
    felz = OfflineSegmenter(OfflineSegmenterConfig(extra_scales=[400.0])).fingerprint()
    slic = OfflineSegmenter(OfflineSegmenterConfig(method="slic")).fingerprint()
    assert set(felz) <= fields and set(slic) <= fields
    assert set(felz) | set(slic) == fields


def test_world_fingerprint_fields_are_the_listed_ones():
    world = object.__new__(WorldSegmenter)  # no street world needed for the fingerprint's keys
    world.cfg, world._digest = WorldSegmenterConfig(), hashlib.sha256()
    assert tuple(world.fingerprint()) == chooser.BACKENDS["world"].fingerprint_fields


def _run() -> str:
    app = typer.Typer()
    priors_cli.register(app)
    result = CliRunner().invoke(app, ["priors", "backends"])
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_lists_backends_availability_and_fields(monkeypatch):
    out = _run()
    for name, info in chooser.BACKENDS.items():
        assert f"{name}  (" in out and info.config in out
        assert "fingerprint: " + ", ".join(info.fingerprint_fields) in out
    real = chooser.importlib.util.find_spec
    monkeypatch.setattr(chooser.importlib.util, "find_spec", lambda m: None if m == "transformers" else real(m))
    out = _run()
    assert "sam2  (not available: needs transformers)" in out and "offline  (available)" in out
