"""Weights that cannot be used are refused with a message naming the file and what is wrong;
a pickle that needs code is never unpickled."""
from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from pretrained_helpers import authors_state, module_prefixed, random_backbone, save_pth
from samdistill.core.errors import CheckpointError
from samdistill.models.pretrained import load_pretrained, read_weights

REBUILT: list[str] = []


class TrainerState:
    """What some training scripts pickle beside the weights (an options object)."""

    def __init__(self) -> None:
        self.lr = 1e-4

    def __setstate__(self, state: dict) -> None:  # would run if the file were unpickled
        REBUILT.append("TrainerState")
        self.__dict__.update(state)


def test_a_pickle_that_needs_code_is_refused_and_never_rebuilt(tmp_path):
    net = random_backbone("nafnet_tiny", 1)
    path = save_pth({"params": authors_state(net), "opt": TrainerState()}, tmp_path / "NAFNet-custom.pth")
    with pytest.raises(CheckpointError) as err:
        load_pretrained(path, "nafnet_tiny")
    message = str(err.value)
    assert str(path) in message
    assert "refused" in message and "need code" in message and "weights_only=True" in message
    assert "TrainerState" in message  # names what it stores
    assert REBUILT == []


def test_a_truncated_pth_is_reported_as_such(tmp_path):
    net = random_backbone("nafnet_tiny", 1)
    full = save_pth({"params": authors_state(net)}, tmp_path / "full.pth").read_bytes()
    cut = tmp_path / "cut.pth"
    cut.write_bytes(full[: len(full) // 2])
    with pytest.raises(CheckpointError, match=r"cut\.pth: not a readable PyTorch file \(truncated or corrupt"):
        load_pretrained(cut, "nafnet_tiny")


def test_missing_unexpected_and_misshaped_keys_are_named_with_the_file(tmp_path):
    theirs = authors_state(random_backbone("efficientderain_tiny", 2))
    del theirs["conv6.conv1.2.bias"]
    theirs["conv6.att_c.0.weight"] = torch.zeros(4, 128, 1, 1)  # the optional attention we do not have
    theirs["outc.weight"] = torch.zeros(27, 27, 3, 3)
    path = save_pth(module_prefixed(theirs), tmp_path / "KPN_rain100H.pth")
    with pytest.raises(CheckpointError) as err:
        load_pretrained(path, "efficientderain_tiny")
    message = str(err.value)
    assert message.startswith(str(path))
    assert "EfficientDerain layout" in message
    assert "missing 1 key(s): conv6.conv1.2.bias (our dec4.body.2.bias)" in message
    assert "unexpected 1 key(s): conv6.att_c.0.weight" in message
    assert "outc.weight (our kernel_head.weight): file (27, 27, 3, 3) vs model (27, 27, 1, 1)" in message


def test_weights_of_another_size_name_the_keys_and_suggest_the_right_arguments(tmp_path):
    theirs = authors_state(random_backbone("nafnet", 3, width=8, enc_blk_nums=[1, 2], middle_blk_num=1,
                                           dec_blk_nums=[1, 1]))
    path = save_pth({"params": theirs}, tmp_path / "small.pth")
    with pytest.raises(CheckpointError) as err:
        load_pretrained(path, "nafnet_tiny")
    message = str(err.value)
    assert "shape mismatch" in message and "intro.weight" in message
    assert ("--backbone nafnet --args '{\"width\": 8, \"enc_blk_nums\": [1, 2], \"middle_blk_num\": 1, "
            "\"dec_blk_nums\": [1, 1]}'") in message


def test_a_plain_state_dict_without_backbone_asks_for_one(tmp_path):
    net = random_backbone("rcdnet_tiny", 4)
    path = tmp_path / "weights.safetensors"
    save_file(net.state_dict(), str(path))
    with pytest.raises(CheckpointError) as err:
        load_pretrained(path)
    message = str(err.value)
    assert str(path) in message and "does not say which network" in message and "--backbone" in message
    assert "--backbone rcdnet --args" in message
    assert load_pretrained(path, "rcdnet_tiny").layout == "ours"


def test_a_method_state_without_ir1_is_refused(tmp_path):
    path = tmp_path / "method.safetensors"
    save_file({"student.w": torch.zeros(2), "ta.w": torch.zeros(2)}, str(path))
    with pytest.raises(CheckpointError, match=r"no keys under 'ir1\.'"):
        read_weights(path)


def test_a_pth_without_a_state_dict_lists_its_keys(tmp_path):
    path = save_pth({"epoch": 3, "note": "hi"}, tmp_path / "odd.pth")
    with pytest.raises(CheckpointError, match=r"odd\.pth: no state dict found: top-level keys \['epoch', 'note'\]"):
        read_weights(path)
    with pytest.raises(CheckpointError, match=r"no top-level key 'params'"):
        read_weights(path, param_key="params")


def test_bad_args_json_is_one_clear_line(tmp_path):
    net = random_backbone("nafnet_tiny", 5)
    path = save_pth(net.state_dict(), tmp_path / "w.pth")
    with pytest.raises(CheckpointError, match=r"--args must be a JSON object"):
        load_pretrained(path, "nafnet_tiny", "{width: 16}")
    with pytest.raises(CheckpointError, match=r"cannot build backbone 'nafnet_huge'"):
        load_pretrained(path, "nafnet_huge", "{}")
