"""benchmarks/speed/models.py on tiny inputs: MAC counting, the framework round trip, the table."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from _scripts import load_script


@pytest.fixture(scope="module")
def bench():
    return load_script("speed/models.py")


def test_macs_of_a_convolution_are_the_textbook_count(bench):
    conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
    assert bench.count_macs(conv, 16) == 8 * 3 * 3 * 3 * 16 * 16


def test_shipped_network_is_the_bare_architecture_with_identical_outputs(bench, tmp_path):
    from samdistill.models.registry import create_backbone

    trained, shipped = bench.framework_shipped_model("nafnet_tiny", tmp_path)
    bare = create_backbone("nafnet_tiny")
    assert type(shipped) is type(bare)
    assert bench.count_params(shipped) == bench.count_params(bare)
    assert set(shipped.state_dict()) == set(bare.state_dict())  # no IR2 / SPF / SGR weights shipped
    x = torch.rand(1, 3, 24, 24)
    with torch.inference_mode():
        assert torch.equal(trained.eval()(x), shipped(x))


def test_generic_factories_are_skipped_and_unknown_names_rejected(bench):
    names = bench.buildable_backbones()
    assert "nafnet_tiny" in names and "uformer_b" in names
    assert "nafnet" not in names and "uformer" not in names  # need width/depth arguments
    with pytest.raises(SystemExit, match="no_such_net"):
        bench.buildable_backbones(["no_such_net"])


def test_markdown_row_reports_ratio_and_dashes_without_framework(bench):
    with_fw = bench.ModelRow("a", "deraining", 2_000_000, 3_000_000_000, 1, 11.0, 10.0, True, 2_000_000, 13.0,
                             12.5, 0.0)
    bare_only = bench.ModelRow("b", "restoration", 1_000_000, 1_000_000_000, 16, 5.0, 4.0)
    table = bench.markdown_table([with_fw, bare_only], 256).splitlines()
    assert table[2] == "| a | deraining | 2.000 | 3.00 | 11.0 / 10.0 | 2.000 | 13.0 / 12.5 | 1.25 | yes, 0.0e+00 |"
    assert table[3] == "| b | restoration | 1.000 | 1.00 | 5.0 / 4.0 | – | – | – | – |"
