"""kill -9 at seeded random moments, once in the middle of writing a checkpoint, then `--resume`:
a real `samdistill train` process ends with the weights and loss history of an uninterrupted run,
bit for bit."""
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from samdistill.engine.checkpoint import list_checkpoints

# Runs the real CLI, pausing inside one checkpoint write (after two of its four files) and saying so.
PAUSE_MID_CHECKPOINT = """
import os, sys, time
import samdistill.engine.checkpoint as ck
real_save = ck.save_file
def save_file(tensors, filename, *args, **kwargs):
    real_save(tensors, filename, *args, **kwargs)
    if filename.endswith("optimizer.safetensors") and "step_{step:07d}" in filename:
        open(os.environ["PAUSED_MARKER"], "w").close()
        time.sleep(60)
ck.save_file = save_file
from samdistill.cli.main import app
sys.argv = ["samdistill"] + sys.argv[1:]
app()
"""

CONFIG = """seed: 3
output_dir: {out}
model: {{name: nafnet, args: {{width: 4, enc_blk_nums: [1], middle_blk_num: 1, dec_blk_nums: [1]}}}}
data:
  train: {{layout: folders, root: {data}, lq_dir: lq, gt_dir: gt}}
  val: null
  crop_size: 8
  batch_size: 2
  repeat: 1
train: {{steps: 48, save_every: 3, val_every: 0, log_every: 2, deterministic: true, tensorboard: false,
        progress: false, schedule: {{name: cosine, warmup_steps: 4}}, optimizer: {{lr: 0.003}}}}
"""


def _start(config: Path, out: Path, env: dict, resume: bool, code: str | None = None) -> subprocess.Popen:
    cli = [sys.executable, "-c", code] if code else [sys.executable, "-m", "samdistill.cli.main"]
    args = cli + ["train", "--config", str(config), "--output-dir", str(out)] + (["--resume"] if resume else [])
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_for(condition, proc: subprocess.Popen, timeout: float = 60.0) -> bool:
    """True when `condition()` holds; False when the process ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if proc.poll() is not None:
            return condition()
        time.sleep(0.01)
    raise TimeoutError("training made no progress")


def _newest_step(out: Path) -> int:
    found = list_checkpoints(out)
    return found[-1][0] if found else -1


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.mark.slow  # ~30-50 s: five training processes start
def test_kill_9_at_random_moments_then_resume_gives_the_uninterrupted_weights(tmp_path):
    for i in range(4):
        for sub, seed in (("lq", i), ("gt", 50 + i)):
            (tmp_path / "data" / sub).mkdir(parents=True, exist_ok=True)
            pixels = np.random.default_rng(seed).integers(0, 256, (16, 16, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "data" / sub / f"{i}.png")
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.format(out=tmp_path / "unused", data=tmp_path / "data"))
    env = dict(os.environ, OMP_NUM_THREADS="1", SAMDISTILL_CACHE=str(tmp_path / "cache"),
               PAUSED_MARKER=str(tmp_path / "paused"))
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    reference = _start(config, straight, env, resume=False)  # runs beside the interrupted ones

    rng = random.Random(13)
    resume = False
    for attempt in range(3):
        if attempt == 1:  # in the middle of writing the next checkpoint
            step = _newest_step(killed) + 3
            proc = _start(config, killed, env, resume, PAUSE_MID_CHECKPOINT.replace("{step:07d}", f"{step:07d}"))
            assert _wait_for(lambda: (tmp_path / "paused").exists(), proc), proc.communicate()[0]
            assert any(p.name.startswith(".tmp-step_") for p in (killed / "checkpoints").iterdir())
        else:  # a seeded moment after the run has made some progress
            before = _newest_step(killed)
            proc = _start(config, killed, env, resume)
            assert _wait_for(lambda: _newest_step(killed) > before, proc), proc.communicate()[0]
            time.sleep(rng.uniform(0.0, 0.1))
        _kill(proc)
        assert proc.returncode == -signal.SIGKILL, f"attempt {attempt}: the run ended first:\n{proc.stdout.read()}"
        resume = True
    assert not (killed / "model.safetensors").exists()

    proc = _start(config, killed, env, resume=True)
    output = proc.communicate(timeout=120)[0]
    assert proc.returncode == 0, output
    output = reference.communicate(timeout=120)[0]
    assert reference.returncode == 0, output

    a, b = load_file(str(straight / "model.safetensors")), load_file(str(killed / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert (straight / "train_history.json").read_text() == (killed / "train_history.json").read_text()
    assert not any(p.name.startswith(".tmp-") for p in (killed / "checkpoints").iterdir())
