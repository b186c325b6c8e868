"""Outputs follow the user's umask (0644 files, 0755 folders under umask 022), not mkstemp's 0600."""
import os
import stat

import numpy as np
import pytest
import torch

from samdistill.data.io import write_image
from samdistill.models.artifact import save_model_artifact
from samdistill.engine.checkpoint import save_checkpoint
from samdistill.priors.cache import MaskCache
from samdistill.priors.maskset import MaskSet
from samdistill.data.cache_dir import build_atomically


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_written_files_and_folders_follow_the_umask(tmp_path, umask_022):
    art = save_model_artifact(torch.nn.Linear(2, 2), "x", {}, tmp_path / "model.safetensors")
    png = write_image(tmp_path / "img.png", np.zeros((4, 4, 3), np.float32))
    ckpt = save_checkpoint(tmp_path / "run", 3, {"w": torch.zeros(2)}, {"state": {}, "param_groups": []}, [], {})
    cache = MaskCache(tmp_path / "masks")
    cache.put("ab" * 32, {"backend": "test"}, MaskSet(np.ones((1, 4, 4), bool)))
    built = build_atomically(tmp_path / "built" / "v1", lambda tmp: (tmp / "sub").mkdir() or (tmp / "sub" / "f.txt").write_text("x"))
    for path in (art, png, ckpt / "method.safetensors", ckpt / "state.json", built / "sub" / "f.txt",
                 *[p for p in (tmp_path / "masks").rglob("*") if p.is_file()]):
        assert mode(path) == 0o644, path
    for folder in (ckpt, built, built / "sub"):
        assert mode(folder) == 0o755, folder
