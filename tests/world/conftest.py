from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def small_world(tmp_path_factory) -> Path:
    """One small street world at the default image sizes, shared by the world tests (~4 s)."""
    from samdistill.world.build import WorldBuildConfig, build_world

    out = tmp_path_factory.mktemp("world")
    build_world(out, WorldBuildConfig(pinhole_train=6, pinhole_val=2, pano_train=2, pano_val=3), progress=False)
    return out
