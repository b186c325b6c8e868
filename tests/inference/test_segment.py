"""Whole-image and sliding-window segmentation of panoramas, and the label/color files written."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
from PIL import Image

from samdistill.data.segmentation import labels as cs
from samdistill.inference.segment import (SegmentError, class_palette, color_labels, load_segmenter, overlay,
                                          parse_sliding, segment_image, segment_logits, segment_paths)


class ProbeNet(nn.Module):
    """Per window: channel 0 = the window's first column of image channel 0 (identifies the window),
    channel 1 = image channel 0 itself, channel 2 = the right neighbour inside the window (0 at the end)."""

    num_classes = 3

    def __init__(self) -> None:
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = x[:, :1]
        first = v[..., :1].expand_as(v)
        right = torch.cat([v[..., 1:], torch.zeros_like(v[..., :1])], -1)
        return torch.cat([first, v, right], 1) + self.dummy


class Pointwise(nn.Module):
    """A per-pixel network (1x1 convolution): any windowing gives the whole-image logits."""

    num_classes = 5

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 5, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def _columns_image(batch: int = 2, height: int = 3, width: int = 10) -> torch.Tensor:
    """Channel 0 = column / 10 + 0.01 * image index."""
    x = torch.zeros(batch, 3, height, width)
    for b in range(batch):
        x[b, 0] = torch.arange(width).float() / 10 + 0.01 * b
    return x


def test_parse_sliding() -> None:
    assert parse_sliding("512x384") == (512, 384)
    assert parse_sliding(None) is None
    for bad in ("512", "384x512", "0x0", "ax3"):
        with pytest.raises(ValueError):
            parse_sliding(bad)


def test_one_window_covering_the_image_exactly_equals_whole_image_inference(tiny_segformer_artifact) -> None:
    _, net = tiny_segformer_artifact()
    x = torch.rand(2, 3, 32, 48, generator=torch.Generator().manual_seed(1))
    whole = segment_logits(net, x)
    assert whole.shape == (2, 19, 32, 48)
    sliding = segment_logits(net, x, sliding=(48, 48))
    assert torch.allclose(sliding, whole, atol=1e-6)
    # and it is not trivially equal to anything: windows narrower than the image do change SegFormer's output
    assert not torch.allclose(segment_logits(net, x, sliding=(32, 16)), whole, atol=1e-4)


def test_non_overlapping_exact_windows_and_a_pointwise_net() -> None:
    net = Pointwise()
    x = torch.rand(2, 3, 5, 12, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ref = net(x)
    for sliding in ((4, 4), (6, 6), (5, 3), (7, 2)):  # the last two overlap and cross the seam
        assert torch.allclose(segment_logits(net, x, sliding=sliding, batch_size=3), ref, atol=1e-6), sliding


@pytest.mark.parametrize("batch_size", [1, 3, 8])
def test_stitching_averages_the_logits_of_overlapping_windows(batch_size: int) -> None:
    # width 10, window 4, stride 3, wrap: windows start at 0, 3, 6, 9 and cover
    # {0,1,2,3}, {3,4,5,6}, {6,7,8,9}, {9,0,1,2}; window k's channel 0 is its start / 10.
    logits = segment_logits(ProbeNet(), _columns_image(), sliding=(4, 3), batch_size=batch_size)
    expected_ch0 = [(0 + .9) / 2] * 3 + [(0 + .3) / 2, .3, .3, (.3 + .6) / 2, .6, .6, (.6 + .9) / 2]
    for b in range(2):
        got = logits[b, 0, 0].tolist()
        assert got == pytest.approx([v + 0.01 * b for v in expected_ch0], abs=1e-6)
        # identical values averaged stay put: every column lands where it came from
        assert logits[b, 1, 0].tolist() == pytest.approx([c / 10 + 0.01 * b for c in range(10)], abs=1e-6)
        assert torch.equal(logits[b, :, 0], logits[b, :, 2])  # full-height windows


def test_the_window_crossing_the_seam_sees_column_zero_right_of_the_last_column() -> None:
    x = _columns_image(batch=1)
    wrapped = segment_logits(ProbeNet(), x, sliding=(4, 3), wrap=True)
    # column 9: window {6..9} (last column: right neighbour 0) and window {9,0,1,2} (right neighbour = column 0)
    assert wrapped[0, 2, 0, 9].item() == pytest.approx((0.0 + x[0, 0, 0, 0].item()) / 2, abs=1e-6)
    # column 2: windows {0..3} (neighbour column 3) and {9,0,1,2} (last column of the window: 0)
    assert wrapped[0, 2, 0, 2].item() == pytest.approx((0.3 + 0.0) / 2, abs=1e-6)
    flat = segment_logits(ProbeNet(), x, sliding=(4, 3), wrap=False)  # starts 0, 3, 6: nothing crosses
    assert flat[0, 2, 0, 9].item() == 0.0
    assert flat[0, 2, 0, 2].item() == pytest.approx(0.3, abs=1e-6)


def test_segment_image_returns_argmax_ids_or_logits(tiny_segformer_artifact) -> None:
    _, net = tiny_segformer_artifact()
    image = np.random.default_rng(0).random((32, 72, 3), dtype=np.float32)
    logits = segment_image(net, image, sliding=(32, 24), return_logits=True)
    ids = segment_image(net, image, sliding=(32, 24))
    assert logits.shape == (19, 32, 72) and ids.shape == (32, 72) and ids.dtype == np.uint8
    np.testing.assert_array_equal(ids, logits.argmax(0))
    with pytest.raises(ValueError, match="narrower than one window"):
        segment_image(net, image, sliding=(96, 16))


def test_palettes_and_overlay() -> None:
    pal13 = class_palette(13)
    assert tuple(pal13[11]) == (220, 20, 60) and tuple(pal13[12]) == (0, 0, 142)  # person, car
    assert tuple(pal13[10]) == (70, 130, 180) and tuple(pal13[255]) == (0, 0, 0)
    assert tuple(class_palette(19)[12]) == (255, 0, 0)  # rider
    labels = np.array([[0, 13]], np.uint8)
    np.testing.assert_array_equal(color_labels(labels), [[[128, 64, 128], [0, 0, 142]]])
    image = np.full((1, 2, 3), 1.0, np.float32)
    blended = overlay(image, labels, alpha=0.25)
    expected = np.round((0.75 + 0.25 * np.array([[[128, 64, 128], [0, 0, 142]]]) / 255) * 255)
    np.testing.assert_array_equal(blended, expected)


def _paint(path: Path, ids: np.ndarray, green: int = 100) -> Path:
    """An RGB image whose red channel holds class ids (the color-coded segmenter predicts them)."""
    rgb = np.stack([ids.astype(np.uint8), np.full_like(ids, green, np.uint8), np.zeros_like(ids, np.uint8)], -1)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path)
    return path


def _color_artifact(tmp_path: Path, num_classes: int = 19) -> Path:
    from samdistill.models.artifact import save_model_artifact
    from samdistill.models.registry import create_backbone

    net = create_backbone("test_color_segmenter", num_classes=num_classes)
    return save_model_artifact(net, "test_color_segmenter", {"num_classes": num_classes},
                               tmp_path / f"color{num_classes}.safetensors")


def test_label_and_color_files_hold_the_predicted_ids(tmp_path: Path) -> None:
    ids = np.arange(24, dtype=np.uint8).reshape(3, 8) % 19
    _paint(tmp_path / "in" / "pano.png", ids)
    _paint(tmp_path / "in" / "other.jpg", np.zeros((3, 8), np.uint8))  # JPEG: only the count matters here
    ckpt = _color_artifact(tmp_path)
    summary = segment_paths(tmp_path / "in", tmp_path / "out", ckpt, overlay_image=False, progress=False)
    assert sorted(p.name for p in summary.labels) == ["other_labelTrainIds.png", "pano_labelTrainIds.png"]
    label = np.array(Image.open(tmp_path / "out" / "pano_labelTrainIds.png"))
    assert label.dtype == np.uint8 and label.ndim == 2
    np.testing.assert_array_equal(label, ids)
    color = np.array(Image.open(tmp_path / "out" / "pano_color.png"))
    np.testing.assert_array_equal(color, cs.palette()[ids])

    segment_paths(tmp_path / "in" / "pano.png", tmp_path / "blend", ckpt, alpha=0.5, sliding=(4, 3))
    np.testing.assert_array_equal(np.array(Image.open(tmp_path / "blend" / "pano_labelTrainIds.png")), ids)
    image = np.array(Image.open(tmp_path / "in" / "pano.png")).astype(np.float64) / 255
    expected = np.round(np.clip(0.5 * image + 0.5 * cs.palette()[ids] / 255, 0, 1) * 255)
    assert np.abs(np.array(Image.open(tmp_path / "blend" / "pano_color.png")).astype(float) - expected).max() <= 1


def test_a_13_class_network_writes_13_class_ids_and_colors(tmp_path: Path) -> None:
    ids = np.array([[11, 12, 3, 0]], np.uint8)
    _paint(tmp_path / "p.png", ids)
    segment_paths(tmp_path / "p.png", tmp_path / "out", _color_artifact(tmp_path, 13), overlay_image=False)
    np.testing.assert_array_equal(np.array(Image.open(tmp_path / "out" / "p_labelTrainIds.png")), ids)
    np.testing.assert_array_equal(np.array(Image.open(tmp_path / "out" / "p_color.png")), class_palette(13)[ids])


def test_unreadable_images_are_skipped_and_listed(tmp_path: Path) -> None:
    _paint(tmp_path / "in" / "good.png", np.ones((4, 8), np.uint8))
    (tmp_path / "in" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(SegmentError, match=r"(?s)1 of 2 image\(s\).*broken\.png"):
        segment_paths(tmp_path / "in", tmp_path / "out", _color_artifact(tmp_path), progress=False)
    assert (tmp_path / "out" / "good_labelTrainIds.png").is_file()
    with pytest.raises(SegmentError, match=r"broken\.png: cannot segment"):
        segment_paths(tmp_path / "in" / "broken.png", tmp_path / "out2", _color_artifact(tmp_path))


def test_narrow_panorama_and_unsafe_outputs_are_refused(tmp_path: Path) -> None:
    _paint(tmp_path / "in" / "narrow.png", np.ones((4, 8), np.uint8))
    ckpt = _color_artifact(tmp_path)
    with pytest.raises(SegmentError, match=r"narrow\.png.*narrower than one window"):
        segment_paths(tmp_path / "in" / "narrow.png", tmp_path / "out", ckpt, sliding=(16, 8))
    with pytest.raises(SegmentError, match="output folder is the input folder"):
        segment_paths(tmp_path / "in", tmp_path / "in", ckpt)
    _paint(tmp_path / "in" / "narrow.jpg", np.ones((4, 8), np.uint8))
    with pytest.raises(SegmentError, match="same files"):
        segment_paths(tmp_path / "in", tmp_path / "out", ckpt)


def test_a_hugging_face_folder_segments_like_the_artifact(tmp_path: Path, tiny_segformer_artifact) -> None:
    path, net = tiny_segformer_artifact()
    net.save_pretrained(tmp_path / "hf")
    from_hf, from_artifact = load_segmenter(tmp_path / "hf"), load_segmenter(path)
    x = torch.rand(1, 3, 32, 64)
    assert torch.allclose(segment_logits(from_hf, x), segment_logits(from_artifact, x), atol=1e-6)
    assert torch.allclose(segment_logits(from_artifact, x), segment_logits(net, x), atol=0)
