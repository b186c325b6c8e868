"""The old import path of the model file's functions: the model file and a run's weights are
`samdistill.models.artifact`'s (the bytes `core/model_file.py`'s). These names stay importable from
here (the same objects) for users' scripts, the tests and the callers not yet moved; the engine itself
no longer uses this module: the trainer writes the shipped network with `core.model_file.save_model_file`
(a state dict and a spec). tests/test_layers.py lists this module's import of models/ as the one left.
"""
from __future__ import annotations

# Re-exported: these lived here before core/ and models/artifact.py, and callers still import them from here.
from samdistill.core.errors import CheckpointError
from samdistill.core.model_file import FORMAT
from samdistill.core.safetensors_io import atomic_save_file, load_state_into, read_safetensors, state_mismatches
from samdistill.models.artifact import load_model_artifact, save_model_artifact

__all__ = ["FORMAT", "CheckpointError", "atomic_save_file", "load_model_artifact", "load_state_into",
           "read_safetensors", "save_model_artifact", "state_mismatches"]
