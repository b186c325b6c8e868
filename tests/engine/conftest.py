import pytest
from accelerate.state import AcceleratorState

import _engine_fixtures  # noqa: F401  (registers the tiny backbone)


@pytest.fixture(autouse=True)
def _fresh_accelerate_state():
    # Accelerator state is a process-wide singleton; each test builds its own.
    AcceleratorState._reset_state(reset_partial_state=True)
    yield
    AcceleratorState._reset_state(reset_partial_state=True)
