"""Fixtures: one tiny random SAM saved in the real on-disk formats (HF directory, official .pth).

transformers is needed only by the files that build a model (they import `tiny_sam`, which skips
them without it); the NMS, stability, crop and pre-processing tests run without it."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch


@pytest.fixture(scope="session")
def tiny_sam_files(tmp_path_factory) -> dict[str, Path]:
    """{'hf': HF directory, 'pth': official-layout .pth} holding the same tiny model."""
    pytest.importorskip("transformers")
    from samdistill.priors.sam.convert import hf_to_official
    from tiny_sam import tiny_sam_model  # this directory

    root = tmp_path_factory.mktemp("tiny_sam")
    model = tiny_sam_model()
    model.save_pretrained(root / "hf")
    torch.save(hf_to_official(model.state_dict()), root / "sam_tiny.pth")
    return {"hf": root / "hf", "pth": root / "sam_tiny.pth"}


@pytest.fixture(scope="session")
def tiny_predictor(tiny_sam_files):
    from samdistill.priors.sam import SamPredictor, load_sam

    model, _ = load_sam(tiny_sam_files["hf"])
    return SamPredictor(model)
