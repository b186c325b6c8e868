"""The authors' released checkpoints load into our backbones: NAFNet/BasicSR, Uformer, RCDNet and
EfficientDerain key layouts, as real .pth files, give the same outputs as the weights they hold.

Files are made from our random-weight models through the inverse mapping; the key names and shapes
written there are checked against facts read off the official repositories (literal keys below), so
a mapping that is merely self-consistent cannot pass.
"""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from pretrained_helpers import TINY, authors_state, image, module_prefixed, random_backbone, save_pth
from samdistill.core.errors import CheckpointError
from samdistill.models.foreign_keys import guess_backbone, layout_for
from samdistill.models.pretrained import load_pretrained, load_pretrained_state
from samdistill.models.registry import create_backbone

# How each authors' training code wraps its weights (BasicSR: params/params_ema; Uformer:
# {"epoch", "state_dict", "optimizer"} saved from a DataParallel model; RCDNet: bare state dict;
# EfficientDerain: bare, `module.` kept when saved without .module).
WRAP = {
    "nafnet_tiny": lambda s: {"params": module_prefixed(s)},
    "uformer_tiny": lambda s: {"epoch": 250, "state_dict": module_prefixed(s),
                               "optimizer": {"state": {}, "param_groups": [{"lr": 2e-4, "betas": (0.9, 0.999),
                                                                            "params": [0, 1]}]}},
    "rcdnet_tiny": lambda s: s,
    "efficientderain_tiny": lambda s: module_prefixed(s),
}


@pytest.mark.parametrize("name", TINY)
def test_authors_pth_loads_and_gives_the_same_outputs(name, tmp_path):
    source = random_backbone(name, seed=1)
    theirs = authors_state(source)
    ours = set(source.state_dict())
    assert set(theirs) != ours, "the authors' layout must differ from ours for this test to mean anything"
    path = save_pth(WRAP[name](theirs), tmp_path / f"{name}.pth")

    loaded = load_pretrained(path, name)
    x = image(size=24)
    with torch.no_grad():
        expected, got = source(x), loaded.model(x)
        fresh = random_backbone(name, seed=2)(x)
    assert torch.isfinite(expected).all()
    torch.testing.assert_close(got, expected, rtol=0, atol=0)
    assert not torch.allclose(fresh, expected, atol=1e-4), "a differently seeded network must differ"
    assert "authors'" in loaded.layout and layout_for(source).arch in loaded.layout

    state = load_pretrained_state(path, name, {})
    assert set(state) == ours
    assert all(torch.equal(state[k], v) for k, v in source.state_dict().items())


def test_nafnet_prefers_params_ema_and_param_key_chooses(tmp_path):
    plain, ema = random_backbone("nafnet_tiny", 1), random_backbone("nafnet_tiny", 2)
    path = save_pth({"params": authors_state(plain), "params_ema": module_prefixed(authors_state(ema))},
                    tmp_path / "NAFNet-width16.pth")
    x = image()
    with torch.no_grad():
        torch.testing.assert_close(load_pretrained(path, "nafnet_tiny").model(x), ema(x))
        torch.testing.assert_close(load_pretrained(path, "nafnet_tiny", param_key="params").model(x), plain(x))


def test_our_own_layout_in_a_pth_is_taken_as_is(tmp_path):
    net = random_backbone("efficientderain_tiny", 3)
    path = save_pth(net.state_dict(), tmp_path / "ours.pth")
    loaded = load_pretrained(path, "efficientderain_tiny")
    assert loaded.layout == "ours"
    assert all(torch.equal(loaded.model.state_dict()[k], v) for k, v in net.state_dict().items())


def _full(name: str, **args) -> dict[str, tuple[int, ...]]:
    """The authors' key -> shape of a paper-size model (built on the meta device: no memory)."""
    with torch.device("meta"):
        net = create_backbone(name, **args)
    return {k: tuple(v.shape) for k, v in layout_for(net).to_authors(net.state_dict()).items()}


def test_nafnet_authors_keys_match_the_official_names_and_shapes():
    keys = _full("nafnet_gopro_w32")  # NAFNet_arch.py: width 32, enc [1,1,1,28], middle 1, dec [1,1,1,1]
    assert keys["intro.weight"] == (32, 3, 3, 3)
    assert keys["encoders.3.27.sca.1.weight"] == (256, 256, 1, 1)  # sca = Sequential(pool, conv)
    assert keys["encoders.0.0.norm1.weight"] == (32,)
    assert keys["encoders.0.0.beta"] == (1, 32, 1, 1)
    assert keys["downs.0.weight"] == (64, 32, 2, 2)
    assert keys["ups.0.0.weight"] == (1024, 512, 1, 1)  # Sequential(conv1x1 no bias, PixelShuffle)
    assert keys["middle_blks.0.conv4.weight"] == (1024, 512, 1, 1)
    assert not any(".sca.conv." in k for k in keys)
    assert len(keys) == len(_ours("nafnet_gopro_w32"))


def _ours(name: str, **args) -> dict:
    with torch.device("meta"):
        return create_backbone(name, **args).state_dict()


def test_uformer_authors_keys_match_the_official_names_and_shapes():
    keys = _full("uformer_b")  # model.py, Uformer-B: embed 32, depths [1,2,8,8,2,8,8,2,1], win 8, modulator
    assert keys["input_proj.proj.0.weight"] == (32, 3, 3, 3)
    assert keys["output_proj.proj.0.weight"] == (3, 64, 3, 3)
    assert keys["encoderlayer_0.blocks.0.attn.qkv.to_q.weight"] == (32, 32)
    assert keys["encoderlayer_0.blocks.0.attn.qkv.to_kv.weight"] == (64, 32)
    assert keys["encoderlayer_0.blocks.0.attn.relative_position_bias_table"] == (225, 1)
    assert keys["encoderlayer_0.blocks.0.attn.relative_position_index"] == (64, 64)
    assert keys["encoderlayer_0.blocks.0.mlp.linear1.0.weight"] == (128, 32)
    assert keys["encoderlayer_0.blocks.0.mlp.dwconv.0.weight"] == (128, 1, 3, 3)
    assert keys["encoderlayer_0.blocks.0.mlp.linear2.0.weight"] == (32, 128)
    assert keys["encoderlayer_3.blocks.7.norm2.weight"] == (256,)
    assert keys["dowsample_0.conv.0.weight"] == (64, 32, 4, 4)
    assert keys["conv.blocks.1.attn.relative_position_bias_table"] == (225, 16)  # bottleneck, 16 heads
    assert keys["upsample_0.deconv.0.weight"] == (512, 256, 2, 2)
    assert keys["upsample_1.deconv.0.weight"] == (512, 128, 2, 2)
    assert keys["decoderlayer_0.blocks.0.modulator.weight"] == (64, 512)  # nn.Embedding(win*win, dim)
    assert keys["decoderlayer_3.blocks.0.attn.qkv.to_kv.weight"] == (128, 64)
    assert not any(k.startswith("encoderlayer_") and "modulator" in k for k in keys)  # decoders only


def test_rcdnet_authors_keys_match_the_official_names_and_shapes():
    keys = _full("rcdnet")  # rcdnet.py Mainnet: S=17, num_M=num_Z=32, 9x9 kernels, 4 res blocks
    assert keys["conv"] == (16, 3, 32, 9, 9) and keys["weight0"] == (3, 32, 9, 9)
    assert keys["eta1"] == (1,) and keys["eta2"] == (1,) and keys["eta11"] == (16, 1) and keys["eta12"] == (16, 1)
    assert keys["w_z_f"] == (32, 3, 3, 3) and keys["tau"] == (1,)
    assert keys["xnet.resx1.0.weight"] == (35, 35, 3, 3)
    assert keys["mnet.resm4.4.running_var"] == (32,) and keys["mnet.tau"] == (1, 32, 1, 1)
    assert keys["x_stage.16.resx4.3.weight"] == (35, 35, 3, 3)
    assert keys["m_stage.0.tau"] == (1, 32, 1, 1) and keys["m_stage.16.resm1.1.num_batches_tracked"] == ()
    assert keys["fxnet.resx1.1.bias"] == (35,)
    assert not any("resx0" in k or "resm0" in k or "resx5" in k for k in keys)  # resx1..resx4


def test_rcdnet_authors_names_carry_the_authors_initial_values():
    """Initial values of rcdnet.py (etaM=1, etaX=5, tau=1, M-net tau=0.5, w_z_f = 1/9) sit under the
    same names in the converted file: a swap of eta11/eta12 or xnet/mnet would show here."""
    theirs = layout_for(create_backbone("rcdnet_tiny")).to_authors(create_backbone("rcdnet_tiny").state_dict())
    assert torch.all(theirs["eta11"] == 1) and torch.all(theirs["eta12"] == 5)
    assert torch.all(theirs["eta1"] == 1) and torch.all(theirs["eta2"] == 5) and torch.all(theirs["tau"] == 1)
    assert torch.all(theirs["m_stage.2.tau"] == 0.5) and torch.all(theirs["mnet.tau"] == 0.5)
    assert torch.allclose(theirs["w_z_f"], torch.full_like(theirs["w_z_f"], 1 / 9))
    assert theirs["x_stage.0.resx1.0.weight"].shape[0] == 8 + 3  # num_Z + RGB
    assert theirs["m_stage.0.resm1.0.weight"].shape[0] == 8  # num_M


def test_efficientderain_authors_keys_match_the_official_names_and_shapes():
    keys = _full("efficientderain")  # network.py KPN: 64-128-256-512-512, kernel 3, 4 dilations
    assert keys["conv1.conv1.0.weight"] == (64, 3, 3, 3)
    assert keys["conv1.conv1.4.weight"] == (64, 64, 3, 3)
    assert keys["conv5.conv1.0.weight"] == (512, 512, 3, 3)
    assert keys["conv6.conv1.0.weight"] == (512, 1024, 3, 3)
    assert keys["conv7.conv1.0.weight"] == (256, 768, 3, 3)
    assert keys["conv8.conv1.0.weight"] == (27, 384, 3, 3)
    assert keys["outc.weight"] == (27, 27, 1, 1)
    assert keys["conv_final.weight"] == (3, 12, 3, 3)
    assert len(keys) == 52


def test_uformer_attention_from_the_authors_tensors_matches_their_formula():
    """One window of the authors' attention written from their keys alone (q = to_q x, [k; v] =
    to_kv x, softmax(q k^T / sqrt(d) + bias[index]) v, proj) equals our block loaded from them."""
    net = random_backbone("uformer_tiny", 5)
    theirs = authors_state(net)
    pre = "decoderlayer_3.blocks.0.attn."
    dim, heads = theirs[pre + "qkv.to_q.weight"].shape[0], theirs[pre + "relative_position_bias_table"].shape[1]
    x = torch.randn(2, 64, dim, generator=torch.Generator().manual_seed(0))
    q = F.linear(x, theirs[pre + "qkv.to_q.weight"], theirs[pre + "qkv.to_q.bias"])
    kv = F.linear(x, theirs[pre + "qkv.to_kv.weight"], theirs[pre + "qkv.to_kv.bias"])
    k, v = kv[..., :dim], kv[..., dim:]
    split = lambda t: t.view(2, 64, heads, dim // heads).transpose(1, 2)  # noqa: E731
    q, k, v = split(q), split(k), split(v)
    index = theirs[pre + "relative_position_index"]
    bias = theirs[pre + "relative_position_bias_table"][index.view(-1)].view(64, 64, heads).permute(2, 0, 1)
    attn = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(dim // heads) + bias, dim=-1)
    expected = F.linear((attn @ v).transpose(1, 2).reshape(2, 64, dim), theirs[pre + "proj.weight"],
                        theirs[pre + "proj.bias"])

    loaded = create_backbone("uformer_tiny")
    mapped, _, problems = layout_for(loaded).to_ours(theirs)
    assert not problems
    loaded.load_state_dict(mapped)
    with torch.no_grad():
        got = loaded.decoders[3].blocks[0].attn(x)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


def test_uformer_window_index_of_another_window_size_is_reported(tmp_path):
    net = random_backbone("uformer_tiny", 6)
    theirs = authors_state(net)
    key = "encoderlayer_0.blocks.0.attn.relative_position_index"
    theirs[key] = theirs[key].flip(0)
    with pytest.raises(CheckpointError) as err:
        load_pretrained(save_pth(theirs, tmp_path / "u.pth"), "uformer_tiny")
    assert key in str(err.value) and "relative position index" in str(err.value)


@pytest.mark.parametrize("name", TINY)
def test_guess_backbone_names_the_architecture_and_its_arguments(name):
    net = random_backbone(name, 7)
    guessed = guess_backbone(authors_state(net))
    assert guessed is not None
    rebuilt = create_backbone(guessed[0], **guessed[1])
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {k: v.shape for k, v in net.state_dict().items()}
    assert guess_backbone(net.state_dict())[0] == guessed[0]


def test_rcdnet_built_without_the_unused_parameters_still_loads_the_authors_file(tmp_path):
    source = random_backbone("rcdnet_tiny", 8)
    path = save_pth(authors_state(source), tmp_path / "rcdnet.pt")  # carries mnet.* and eta1
    loaded = load_pretrained(path, "rcdnet_tiny", {"keep_reference_unused": False})
    x = image(3)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(x), source(x), rtol=0, atol=0)


def test_missing_batchnorm_counters_of_old_files_start_at_zero(tmp_path):
    source = random_backbone("rcdnet_tiny", 9)
    theirs = {k: v for k, v in authors_state(source).items() if not k.endswith("num_batches_tracked")}
    loaded = load_pretrained(save_pth(theirs, tmp_path / "old.pt"), "rcdnet_tiny")
    x = image(4)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(x), source(x), rtol=0, atol=0)
