"""The tiny street world every GoodSAM pipeline test trains on."""
import pytest


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory):
    from samdistill.world.build import WorldBuildConfig, build_world

    out = tmp_path_factory.mktemp("tinyworld")
    build_world(out, WorldBuildConfig(pinhole_train=4, pinhole_val=0, pano_train=3, pano_val=1,
                                      pinhole_size=(32, 64), pano_size=(32, 160)), progress=False)
    return out
