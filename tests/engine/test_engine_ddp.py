"""Two CPU processes (gloo) under torch.distributed.run: DDP keeps the ranks' weights identical."""
import json
from pathlib import Path

import torch
from safetensors.torch import load_file

from samdistill.models.artifact import load_model_artifact


def test_two_process_training_keeps_ranks_identical_and_resumes_exactly(tmp_path, torchrun):
    torchrun(Path(__file__).with_name("ddp_worker.py"), tmp_path)

    r0, r1 = (load_file(str(tmp_path / f"rank{r}.safetensors")) for r in (0, 1))
    initial = load_file(str(tmp_path / "initial.safetensors"))
    assert all(torch.equal(r0[k], r1[k]) for k in r0)
    assert not all(torch.equal(r0[k], initial[k]) for k in r0)

    seen0, seen1 = (json.loads((tmp_path / f"seen_rank{r}.json").read_text()) for r in (0, 1))
    assert len(seen0) == len(seen1) == 6 and sorted(seen0 + seen1) == list(range(12))  # one epoch, sharded

    run = tmp_path / "run"
    artifact = load_model_artifact(run / "model.safetensors")
    assert all(torch.equal(artifact.state_dict()[k], r0[k]) for k in r0)
    val = json.loads((run / "val_history.json").read_text())
    assert val[-1]["step"] == 3 and val[-1]["images"] == 5  # padded duplicates dropped
    state = json.loads(next((run / "checkpoints").glob("step_*/state.json")).read_text())
    assert state["num_processes"] == 2 and len(state["rng"]) == 2

    straight = load_file(str(tmp_path / "straight" / "model.safetensors"))
    resumed = load_file(str(tmp_path / "resumed" / "model.safetensors"))
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)  # exact resume with 2 processes
