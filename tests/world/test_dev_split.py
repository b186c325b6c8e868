"""The labeled dev panoramas the GoodSAM settings are chosen on."""
from samdistill.world.build import WorldBuildConfig


def test_dev_panoramas_are_other_scenes_in_the_labeled_densepass_layout(tmp_path, monkeypatch):
    """`embedded-pano-dev`: labeled panoramas of their own scenes, read by the densepass loader and the
    world segmenter like the test panoramas, so settings can be chosen without touching the test set."""
    from samdistill.data.segmentation.config import SegDatasetConfig
    from samdistill.data.segmentation.layouts import resolve_samples
    from samdistill.world import embedded
    from samdistill.world.build import dev_jobs, jobs, scene_seed

    test_seeds = {scene_seed(0, j.domain, j.split, j.index) for j in jobs(WorldBuildConfig()) if j.split == "val"}
    assert not test_seeds & {scene_seed(0, j.domain, j.split, j.index) for j in dev_jobs(40)}
    monkeypatch.setattr(embedded, "PANO_DEV", 2)
    samples = resolve_samples(SegDatasetConfig(layout="densepass", root="embedded-pano-dev", split="val",
                                               cache_dir=str(tmp_path)))
    assert [s.label is not None for s in samples] == [True, True]
    root = tmp_path / "street-world-dev" / "v1" / "pano"
    assert (root / "world_index.npz").is_file() and samples[0].image.parent == root / "leftImg8bit" / "val"
