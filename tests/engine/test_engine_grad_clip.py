"""train.grad_clip clips each network of a method on its own (IR1 and SAM4IR's teacher)."""
import torch
from accelerate.utils import set_seed

from _engine_fixtures import TwoNetMethod, loaders, make_cfg
from samdistill.engine.trainer import Trainer
from samdistill.methods.base import StepOutput


class _LoudTeacher(TwoNetMethod):
    """IR2's loss scaled by `loud`: its gradients are large, IR1's are not (IR2's input is detached)."""

    def __init__(self, loud: float):
        super().__init__()
        self.loud = loud

    def forward(self, batch):
        i1 = self.ir1(batch["lq"])
        l1 = (i1 - batch["gt"]).abs().mean()
        l2 = (self.ir2(i1.detach()) - batch["gt"]).abs().mean()
        total = l1 + self.loud * l2
        return StepOutput(total, {"loss": float(total.detach())})

    def grad_clip_groups(self):
        return {"ir1": list(self.ir1.parameters()), "ir2": list(self.ir2.parameters())}


def test_grad_clip_is_separate_per_network(tmp_path):
    """IR1's clipped step must not depend on how large IR2's gradients are."""
    weights, logged = [], []
    for loud in (1.0, 1000.0):
        cfg = make_cfg(str(tmp_path / f"run{loud}"), steps=4, grad_clip=0.01, log_every=1)
        set_seed(cfg.seed)
        method = _LoudTeacher(loud)
        train_loader, _ = loaders()
        trainer = Trainer(cfg, method, train_loader)
        trainer.fit()
        weights.append({k: v.clone() for k, v in method.ir1.state_dict().items()})
        logged.append(trainer.train_history[-1])
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert all({"grad_norm_ir1", "grad_norm_ir2"} <= set(log) for log in logged)


def test_sam4ir_clips_ir1_and_teacher_separately():
    from samdistill.engine.config import LossConfig
    from samdistill.sam4ir.config import SAM4IRConfig
    from samdistill.sam4ir.method import SAM4IRMethod

    cfg = SAM4IRConfig.model_validate({"enabled": True, "sgr": {"features": "random_conv"}})
    m = SAM4IRMethod("nafnet_tiny", {}, cfg, LossConfig(), num_masks=2)
    groups = m.grad_clip_groups()
    assert set(groups) == {"ir1", "ir2"}
    ids = [id(p) for ps in groups.values() for p in ps]
    assert len(ids) == len(set(ids)) and set(ids) == {id(p) for p in m.parameters() if p.requires_grad}
    assert {id(p) for p in m.spf.parameters()} <= {id(p) for p in groups["ir2"]}
