"""The SAM4IR method: eq. 8's composition, stop-gradients, and what ships (IR1 only)."""
import math

import pytest
import torch
from safetensors.torch import load_file

from samdistill.models.artifact import load_model_artifact, save_model_artifact
from samdistill.engine.config import LossConfig
from samdistill.models.registry import create_backbone
from samdistill.sam4ir.config import SAM4IRConfig
from samdistill.sam4ir.method import SAM4IRMethod
from samdistill.sam4ir.spd import spd_loss

BACKBONE, ARGS = "nafnet_tiny", {}


def _method(**overrides) -> SAM4IRMethod:
    cfg = SAM4IRConfig.model_validate({"enabled": True, "sgr": {"features": "random_conv"}, **overrides})
    torch.manual_seed(0)
    return SAM4IRMethod(BACKBONE, ARGS, cfg, LossConfig(name="l1"), encoding="channels", num_masks=4)


def _batch(b=2, size=32):
    g = torch.Generator().manual_seed(1)
    gt = torch.rand(b, 3, size, size, generator=g)
    lq = (gt + 0.2 * torch.rand(b, 3, size, size, generator=g)).clamp(0, 1)
    masks = torch.zeros(b, 4, size, size)
    masks[:, 0, : size // 2] = 1
    masks[:, 1, size // 2:] = 1
    masks[:, 2, :, : size // 3] = 1  # overlaps both: relations are non-trivial
    return {"lq": lq, "gt": gt, "masks": masks}


def _grads(module):
    return [p.grad for p in module.parameters() if p.requires_grad]


def test_step_loss_is_eq8_plus_ir2_reconstruction():
    m = _method()
    out = m(_batch())
    logs = out.logs
    expected = logs["loss_ir1"] + logs["loss_ir2"] + 0.005 * logs["loss_spd"] + 200 * logs["loss_sgr"]
    assert math.isclose(out.loss.item(), expected, rel_tol=1e-5)
    assert logs["loss_sgr"] > 0 and logs["loss_spd"] > 0


def test_spd_and_sgr_send_no_gradient_into_ir2_or_spf():
    m = _method()
    batch = _batch()
    i1 = m.ir1(batch["lq"])
    i2 = m.teacher(i1, batch["lq"], batch["masks"])
    loss = spd_loss(i1, i2) + m.sgr(i1, i2, batch["masks"])
    loss.backward()
    assert all(g is None or torch.count_nonzero(g) == 0 for g in _grads(m.ir2) + _grads(m.spf))
    assert any(g is not None and torch.count_nonzero(g) > 0 for g in _grads(m.ir1))


def test_ir2_reconstruction_does_not_train_ir1():
    m = _method()
    batch = _batch()
    i1 = m.ir1(batch["lq"])
    i2 = m.teacher(i1, batch["lq"], batch["masks"])
    torch.nn.functional.l1_loss(i2, batch["gt"]).backward()
    assert all(g is None or torch.count_nonzero(g) == 0 for g in _grads(m.ir1))
    assert any(g is not None and torch.count_nonzero(g) > 0 for g in _grads(m.spf))


def test_relation_net_is_frozen_and_not_checkpointed(tmp_path):
    """A real SAM4IR checkpoint written by the trainer: IR1, IR2 and SPF inside, the relation net
    (VGG) not; the relation net is unchanged by training steps and the checkpoint loads back."""
    from accelerate.state import AcceleratorState
    from torch.utils.data import DataLoader

    from samdistill.config.loader import config_from_dict
    from samdistill.engine.checkpoint import list_checkpoints, load_checkpoint, load_method_state
    from samdistill.engine.trainer import Trainer

    m = _method()
    assert not any(p.requires_grad for p in m.relation_net.parameters())
    assert m.frozen_prefixes() == ("relation_net.",)
    relation_before = {k: v.clone() for k, v in m.relation_net.state_dict().items()}
    assert relation_before  # it has weights a checkpoint could carry
    cfg = config_from_dict({"output_dir": str(tmp_path), "model": {"name": BACKBONE},
                            "sam4ir": {"enabled": True, "sgr": {"features": "random_conv"}},
                            "train": {"steps": 2, "save_every": 0, "val_every": 0, "log_every": 1,
                                      "tensorboard": False, "progress": False}})
    batch = _batch()
    loader = DataLoader([{k: v[i] for k, v in batch.items()} for i in range(2)], batch_size=2)
    AcceleratorState._reset_state(reset_partial_state=True)
    try:
        Trainer(cfg, m, loader, None).fit()
    finally:
        AcceleratorState._reset_state(reset_partial_state=True)
    [(step, path)] = list_checkpoints(tmp_path)
    saved = load_checkpoint(path).method_state
    assert step == 2 and {k.split(".")[0] for k in saved} == {"ir1", "ir2", "spf"}
    assert all(torch.equal(v, relation_before[k]) for k, v in m.relation_net.state_dict().items())
    m.train()
    assert not m.relation_net.training
    fresh = _method()
    load_method_state(fresh, saved, path, fresh.frozen_prefixes())
    assert all(torch.equal(fresh.state_dict()[k], v) for k, v in saved.items())


def test_shipped_artifact_is_ir1_only_same_class_count_and_outputs(tmp_path):
    m = _method()
    m(_batch()).loss.backward()  # touch weights' grads, then perturb IR1 so it's not the init
    with torch.no_grad():
        for p in m.ir1.parameters():
            p.add_(0.01)
    path = save_model_artifact(m.shipped_model(), *m.shipped_spec(), tmp_path / "model.safetensors")
    bare = create_backbone(BACKBONE, **ARGS)
    shipped = load_model_artifact(path)
    assert type(shipped) is type(bare)
    assert sum(p.numel() for p in shipped.parameters()) == sum(p.numel() for p in bare.parameters())
    assert set(load_file(str(path))) == set(bare.state_dict())  # nothing of IR2/SPF/VGG inside
    x = torch.rand(1, 3, 40, 24)
    m.eval()
    with torch.no_grad():
        assert torch.equal(shipped(x), m.ir1(x))


def test_masks_required_when_priors_are_used():
    m = _method()
    batch = _batch()
    del batch["masks"]
    with pytest.raises(ValueError, match="prior masks"):
        m(batch)


def test_cascade_only_row_needs_no_masks():
    cfg = {"spf": {"enabled": False}, "spd": {"enabled": False}, "sgr": {"enabled": False}}
    m = _method(**cfg)
    batch = _batch()
    del batch["masks"]
    out = m(batch)
    assert set(out.logs) == {"loss", "loss_ir1", "loss_ir2"}


@pytest.mark.parametrize("encoding,channels", [("channels", 4), ("gray", 1), ("boundary", 1)])
def test_encodings_set_first_spf_unit_width(encoding, channels):
    cfg = SAM4IRConfig.model_validate({"enabled": True, "sgr": {"features": "random_conv"}})
    m = SAM4IRMethod(BACKBONE, ARGS, cfg, LossConfig(), encoding=encoding, num_masks=4)
    first = m.spf.units[0].conv1[0]
    assert first.in_channels == 3 + channels + m.spf.units[0].conv2[0].out_channels
    assert torch.isfinite(m(_batch()).loss)


def test_distillation_starts_at_the_configured_step():
    m = _method(distill_start_step=5)
    m.on_step_start(4, None)
    assert "loss_spd" not in m(_batch()).logs and "loss_sgr" not in m(_batch()).logs
    m.on_step_start(5, None)
    assert {"loss_spd", "loss_sgr"} <= set(m(_batch()).logs)
