"""`samdistill models list` reads models/catalog.py instead of building every network (issue 22,
item 10: the command starts in well under 2 s); the table must equal the live registry."""
import subprocess
import sys

import pytest
import torch

from samdistill.models.catalog import CATALOG
from samdistill.models.registry import backbone_factory, backbone_info, create_backbone, list_backbones


def test_the_catalog_names_every_registered_network_with_its_task():
    live = {name: backbone_info(name)["task"] for name in list_backbones(task=None)
            if backbone_factory(name).__module__.startswith("samdistill.")}  # not other tests' fixtures
    assert {name: task for name, (task, _) in CATALOG.items()} == live


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_the_catalog_parameter_count_is_the_built_networks(name):
    expected = CATALOG[name][1]
    if expected is None:
        with pytest.raises(TypeError):
            create_backbone(name)
        return
    with torch.device("meta"):  # shapes only: no memory, no initialisation cost
        net = create_backbone(name)
    assert sum(p.numel() for p in net.parameters()) == expected


def test_models_list_does_not_import_torch():
    code = ("import sys; from typer.testing import CliRunner; from samdistill.cli.main import app; "
            "r = CliRunner().invoke(app, ['models', 'list']); assert r.exit_code == 0, r.output; "
            "assert 'nafnet_tiny' in r.output and '0.29' in r.output, r.output; "
            "print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_help_does_not_import_torch():
    code = ("import sys; from typer.testing import CliRunner; from samdistill.cli.main import app; "
            "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0, r.output; print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
