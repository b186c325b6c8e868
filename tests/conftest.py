"""Fixtures shared by every test folder."""
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def torchrun():
    """Run a script in 2 CPU processes (gloo) under torch.distributed.run and fail with its output if it fails.
    --standalone: torchrun picks and holds a free port itself (no probe-then-bind race under xdist)."""
    def run(script: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        full_env = {**os.environ, "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1", **(env or {})}
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               str(script), *map(str, args)]
        proc = subprocess.run(cmd, env=full_env, capture_output=True, text=True, timeout=300)  # slow when CI is loaded
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        return proc
    return run
