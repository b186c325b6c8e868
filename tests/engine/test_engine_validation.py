"""The segmentation validator: per-image confusion counts summed over batches equal one matrix."""
import numpy as np
import torch
from accelerate import Accelerator

from samdistill.methods.validation import SegmentationValidator
from samdistill.metrics.segmentation import ConfusionMatrix


class FixedSegmenter:
    """Returns the logits stored in the batch; a second output scores the ground truth itself."""

    def segment(self, image):
        return image

    def extra_validation(self, batch):
        return {"oracle": batch["label"].clamp(max=2)}


def test_segmentation_validator_equals_one_confusion_matrix():
    rng = np.random.default_rng(0)
    accelerator = Accelerator(cpu=True)
    validator = SegmentationValidator(num_classes=3)
    reference = ConfusionMatrix(3)
    for _ in range(3):
        logits = torch.from_numpy(rng.normal(size=(2, 3, 5, 4)).astype(np.float32))
        label = torch.from_numpy(rng.integers(0, 3, (2, 5, 4)))
        label[0, 0] = 255  # ignored row
        validator.update(FixedSegmenter(), {"image": logits, "label": label}, accelerator)
        reference.update(logits.argmax(1).numpy(), label.numpy())
    record = validator.compute()
    expected = reference.compute()
    assert record["miou"] == expected.miou and record["pixel_acc"] == expected.pixel_acc
    assert record["oracle_miou"] == 1.0 and record["oracle_pixel_acc"] == 1.0
    assert record["images"] == 6
    assert len(record["iou_per_class"]) == 3
