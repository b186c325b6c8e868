import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from samdistill.data.errors import DataError, ImageReadError
from samdistill.data.io import natural_key, read_image, to_image, to_tensor, write_image


def test_rgb_png_exact_values(tmp_path):
    pixels = np.random.default_rng(1).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    img = read_image(tmp_path / "a.png")
    assert img.dtype == np.float32 and img.shape == (5, 7, 3)
    np.testing.assert_array_equal(np.round(img * 255).astype(np.uint8), pixels)


def test_grayscale_is_replicated(tmp_path):
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    Image.fromarray(gray, mode="L").save(tmp_path / "g.png")
    img = read_image(tmp_path / "g.png")
    assert img.shape == (3, 4, 3)
    for c in range(3):
        np.testing.assert_allclose(img[:, :, c], gray / 255.0, atol=1e-7)


def test_rgba_drops_alpha(tmp_path):
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., 0], rgba[..., 1], rgba[..., 2], rgba[..., 3] = 200, 100, 50, 0  # fully transparent
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "a.png")
    img = read_image(tmp_path / "a.png")
    np.testing.assert_allclose(img[0, 0], np.array([200, 100, 50]) / 255.0, atol=1e-7)


def test_gray_alpha_drops_alpha(tmp_path):
    Image.new("LA", (3, 2), (77, 5)).save(tmp_path / "la.png")
    np.testing.assert_allclose(read_image(tmp_path / "la.png"), np.full((2, 3, 3), 77 / 255.0), atol=1e-7)


def test_palette_goes_through_palette(tmp_path):
    im = Image.new("P", (2, 1))
    im.putpalette([10, 20, 30, 40, 50, 60] + [0] * (256 * 3 - 6))
    im.putpixel((1, 0), 1)
    im.save(tmp_path / "p.png")
    img = read_image(tmp_path / "p.png")
    np.testing.assert_allclose(img[0, 0] * 255, [10, 20, 30], atol=1e-4)
    np.testing.assert_allclose(img[0, 1] * 255, [40, 50, 60], atol=1e-4)


def test_16bit_gray_png_full_precision(tmp_path):
    values = np.array([[0, 1, 257], [30000, 65534, 65535]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "g16.png")
    assert Image.open(tmp_path / "g16.png").mode.startswith("I")
    img = read_image(tmp_path / "g16.png")
    np.testing.assert_allclose(img[:, :, 1], values / 65535.0, rtol=1e-6)
    assert img[0, 1, 0] > 0  # 1/65535 survives: not truncated to 8 bits


def test_16bit_rgb_tiff_full_precision(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    rgb = np.array([[[1, 2, 65535], [40000, 3, 0]]], dtype=np.uint16)
    tifffile.imwrite(tmp_path / "c.tif", rgb, photometric="rgb")
    np.testing.assert_allclose(read_image(tmp_path / "c.tif"), rgb / 65535.0, rtol=1e-6)


def _png16_rgb(path, arr):
    h, w, _ = arr.shape
    raw = b"".join(b"\x00" + arr[y].astype(">u2").tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_16bit_rgb_png_full_precision(tmp_path):
    arr = np.array([[[0x1234, 0xFF00, 0x0080], [1, 65535, 257]]], dtype=np.uint16)
    _png16_rgb(tmp_path / "c16.png", arr)
    img = read_image(tmp_path / "c16.png")
    np.testing.assert_allclose(img, arr / 65535.0, rtol=1e-6)  # low bytes kept (Pillow drops them)


@pytest.mark.parametrize("content", [b"", b"not an image at all", None])
def test_corrupt_files_raise_image_read_error(tmp_path, content):
    path = tmp_path / "bad.png"
    if content is None:  # truncated PNG
        Image.fromarray(np.zeros((64, 64, 3), np.uint8) + 7).save(path)
        path.write_bytes(path.read_bytes()[:60])
    else:
        path.write_bytes(content)
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    assert info.value.path == path and str(path) in str(info.value)


def test_missing_file_is_image_read_error(tmp_path):
    with pytest.raises(ImageReadError, match="no such file"):
        read_image(tmp_path / "nope.png")


def test_box_crops(tmp_path):
    pixels = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    img = read_image(tmp_path / "a.png", box=(3, 1, 6, 4))
    np.testing.assert_array_equal(np.round(img * 255).astype(np.uint8), pixels[1:4, 3:6])
    with pytest.raises(ImageReadError, match="outside"):
        read_image(tmp_path / "a.png", box=(0, 0, 7, 4))


def test_write_rounds_to_uint8_and_roundtrips(tmp_path):
    img = np.array([[[0.0, 0.5, 1.0], [0.2, -0.1, 1.7]]], np.float32)
    path = write_image(tmp_path / "sub" / "o.png", img)
    back = np.asarray(Image.open(path))
    np.testing.assert_array_equal(back, [[[0, 128, 255], [51, 0, 255]]])
    assert not list((tmp_path / "sub").glob("*.tmp"))  # temp file renamed away


def test_write_refuses_overwrite_when_asked(tmp_path):
    path = write_image(tmp_path / "o.png", np.zeros((2, 2, 3)))
    with pytest.raises(DataError, match="o.png"):
        write_image(path, np.ones((2, 2, 3)), overwrite=False)
    assert np.asarray(Image.open(path)).max() == 0


def test_write_rejects_bad_shape_and_suffix(tmp_path):
    with pytest.raises(DataError, match="shape"):
        write_image(tmp_path / "o.png", np.zeros((2, 2, 4)))
    with pytest.raises(DataError, match="PNG"):
        write_image(tmp_path / "o.jpg", np.zeros((2, 2, 3)))


def test_tensor_helpers_roundtrip():
    img = np.random.default_rng(0).random((5, 4, 3)).astype(np.float32)
    t = to_tensor(img)
    assert t.shape == (3, 5, 4) and t.dtype == torch.float32
    assert torch.equal(t[1], torch.from_numpy(img[:, :, 1]))
    np.testing.assert_array_equal(to_image(t.unsqueeze(0)), img)


def test_natural_sort():
    names = ["img10.png", "img2.png", "img1.png", "b.png", "a.png"]
    assert sorted(names, key=natural_key) == ["a.png", "b.png", "img1.png", "img2.png", "img10.png"]
