"""The world is not a color lookup: a per-pixel classifier on RGB alone, fit on source pinhole
images, scores below 50 % mIoU on the target panoramas."""
import numpy as np
from sklearn.ensemble import RandomForestClassifier

from samdistill.data.segmentation.config import SegDatasetConfig
from samdistill.data.segmentation.dataset import SegmentationDataset
from samdistill.metrics.segmentation import ConfusionMatrix


def pixels(cfg, per_image, rng):
    xs, ys = [], []
    for item in SegmentationDataset(cfg):
        rgb = item["image"].numpy().reshape(3, -1).T
        label = item["label"].numpy().ravel()
        pick = rng.choice(len(label), min(per_image, len(label)), replace=False)
        xs.append(rgb[pick])
        ys.append(label[pick])
    return np.concatenate(xs), np.concatenate(ys)


def test_rgb_only_classifier_fails_on_target_panoramas(small_world):
    rng = np.random.default_rng(0)
    source = SegDatasetConfig(layout="cityscapes", root=str(small_world / "pinhole"), split="train")
    x, y = pixels(source, 4000, rng)
    forest = RandomForestClassifier(n_estimators=30, min_samples_leaf=5, random_state=0, n_jobs=1).fit(x, y)
    # the same classifier on source pixels it did not see does better than on the target: a real gap
    scores = {}
    for name, cfg in {"source_val": SegDatasetConfig(layout="cityscapes", root=str(small_world / "pinhole"), split="val"),
                      "target": SegDatasetConfig(layout="densepass", root=str(small_world / "pano"), split="val")}.items():
        cm = ConfusionMatrix(19)
        for item in SegmentationDataset(cfg):
            rgb = item["image"].numpy().reshape(3, -1).T
            cm.update(forest.predict(rgb).reshape(item["label"].shape), item["label"].numpy())
        scores[name] = cm.compute().miou
    assert scores["target"] < 0.5, scores
    assert scores["source_val"] > 0.1, scores  # the classifier did learn something from color
