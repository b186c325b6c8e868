"""models/artifact.py is the one home of the model file and of a run's weights; the old import paths
(`engine.artifact` for core's names, `models.pretrained`) give the same objects, asking
`engine.artifact` for a model-file function says where it moved, and what the trainer writes
(`core.model_file.save_model_file`: a state dict and a spec) is what `load_model_artifact` reads."""
import pytest
import torch

import samdistill.engine.artifact as engine_artifact
import samdistill.models.artifact as artifact
import samdistill.models.pretrained as pretrained
from samdistill.core.model_file import FORMAT, save_model_file
from samdistill.core.safetensors_io import read_safetensors_metadata
from samdistill.models.registry import create_backbone


def test_old_import_paths_are_the_same_objects():
    for name in ("CheckpointError", "FORMAT"):
        assert getattr(engine_artifact, name) is getattr(artifact, name), name
    for name in ("IR1_PREFIX", "RawWeights", "checkpoint_task", "is_restoration_input"):
        assert getattr(pretrained, name) is getattr(artifact, name), name


def test_the_engine_path_of_a_model_file_function_names_its_new_home():
    for name in ("load_model_artifact", "save_model_artifact"):
        with pytest.raises(ImportError, match=f"moved to samdistill.models.artifact: from samdistill.models.artifact import {name}"):
            getattr(engine_artifact, name)


def test_a_state_dict_and_a_spec_make_the_model_file(tmp_path):
    net = create_backbone("nafnet_tiny")
    path = save_model_file(net.state_dict(), "nafnet_tiny", {}, tmp_path / "model.safetensors", extra={"step": "3"})
    assert read_safetensors_metadata(path) == {"format": FORMAT, "backbone": "nafnet_tiny", "backbone_args": "{}",
                                               "step": "3"}
    assert artifact.is_model_artifact(path) and artifact.checkpoint_task(path) == "restoration"
    loaded = artifact.load_model_artifact(path)
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in net.state_dict().items())
    assert not artifact.is_restoration_input(path)
    assert artifact.is_restoration_input(tmp_path / "missing.pth") is False
