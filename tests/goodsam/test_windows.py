"""Sliding windows over a panorama: starts, seam crossing, overlap bookkeeping, extract/stitch."""
import pytest
import torch

from samdistill.data.pano_windows import (
    Overlap, Overlap2D, extract_windows, extract_windows_2d, grid_windows, overlaps, overlaps_2d, stitch,
    stitch_2d, window_columns, window_starts,
)


def test_starts_with_and_without_wrap():
    # width 10, window 4, stride 3: windows 0-3, 3-6, 6-9, and 9,0,1,2 across the seam
    assert window_starts(10, 4, 3) == [0, 3, 6, 9]
    assert window_starts(10, 4, 3, wrap=False) == [0, 3, 6]
    # no wrap, stride not fitting: the last window is aligned to the right edge
    assert window_starts(11, 4, 3, wrap=False) == [0, 3, 6, 7]
    assert window_starts(8, 4, 4) == [0, 4]  # stride divides width: no window crosses the seam
    assert window_columns([9], 4, 10).tolist() == [[9, 0, 1, 2]]


@pytest.mark.parametrize("width,window,stride,wrap", [(10, 4, 3, True), (11, 4, 3, False), (13, 5, 2, True),
                                                      (7, 7, 3, True), (9, 4, 4, False)])
def test_every_column_is_covered(width, window, stride, wrap):
    cols = window_columns(window_starts(width, window, stride, wrap), window, width)
    assert set(cols.flatten().tolist()) == set(range(width))


def test_overlaps_listed_by_hand_including_the_seam_pair():
    # windows: w0 = 0,1,2,3  w1 = 3,4,5,6  w2 = 6,7,8,9  w3 = 9,0,1,2
    assert overlaps([0, 3, 6, 9], 4, 10) == [
        Overlap(0, 1, (3,), (0,)),
        Overlap(0, 3, (0, 1, 2), (1, 2, 3)),  # the seam pair: columns 0, 1, 2
        Overlap(1, 2, (3,), (0,)),
        Overlap(2, 3, (3,), (0,)),  # column 9
    ]


def test_overlap_in_two_pieces():
    # width 10, window 8: w0 = 0..7, w1 = 6,7,8,9,0,1,2,3 -> shared 0..3 and 6..7
    assert overlaps([0, 6], 8, 10) == [Overlap(0, 1, (0, 1, 2, 3, 6, 7), (4, 5, 6, 7, 0, 1))]


@pytest.mark.parametrize("width,window,stride,wrap", [(10, 4, 3, True), (13, 5, 2, True), (11, 4, 3, False),
                                                      (10, 8, 6, True)])
def test_overlaps_match_brute_force(width, window, stride, wrap):
    starts = window_starts(width, window, stride, wrap)
    x = torch.arange(width).view(1, 1, 1, width)  # every column holds its own index
    win = extract_windows(x, starts, window, flat=False)[0, :, 0, 0]  # (K, window)
    pairs = {(o.i, o.j): o for o in overlaps(starts, window, width)}
    for i in range(len(starts)):
        for j in range(i + 1, len(starts)):
            shared = set(win[i].tolist()) & set(win[j].tolist())
            if not shared:
                assert (i, j) not in pairs
                continue
            o = pairs[(i, j)]
            assert win[i][list(o.cols_i)].tolist() == win[j][list(o.cols_j)].tolist()
            assert set(win[i][list(o.cols_i)].tolist()) == shared


def test_seam_window_is_the_two_ends_concatenated():
    x = torch.randn(2, 3, 5, 10)
    win = extract_windows(x, [0, 3, 6, 9], 4, flat=False)
    assert win.shape == (2, 4, 3, 5, 4)
    # start 9, window 4: a = 1 column from the right end, b = 3 from the left
    assert torch.equal(win[:, 3], torch.cat([x[..., 10 - 1:], x[..., :3]], -1))
    assert torch.equal(win[:, 1], x[..., 3:7])


def test_flat_layout_is_batch_major_and_works_on_label_maps():
    x = torch.randint(0, 19, (2, 5, 10))
    flat = extract_windows(x, [0, 3, 6, 9], 4)
    assert flat.shape == (8, 5, 4)
    assert torch.equal(flat[4 + 2], x[1, :, 6:10])  # image 1, window 2


@pytest.mark.parametrize("wrap", [True, False])
def test_stitch_inverts_extract(wrap):
    x = torch.randn(2, 3, 5, 11)
    starts = window_starts(11, 4, 3, wrap)
    assert torch.allclose(stitch(extract_windows(x, starts, 4), starts, 4, 11), x, atol=1e-6)


def test_stitch_averages_overlapping_columns():
    # window k holds the value k everywhere; columns seen twice get the mean
    k = 4
    win = torch.arange(k, dtype=torch.float32).view(1, k, 1, 1, 1).expand(1, k, 1, 1, 4)
    out = stitch(win, [0, 3, 6, 9], 4, 10, flat=False)[0, 0, 0]
    #            col:  0    1    2    3    4  5  6    7  8  9
    assert out.tolist() == [1.5, 1.5, 1.5, 0.5, 1, 1, 1.5, 2, 2, 2.5]


def test_errors_name_the_sizes():
    with pytest.raises(ValueError, match="3 px is narrower than one window \\(4 px\\)"):
        window_starts(3, 4, 2)
    with pytest.raises(ValueError, match="stride"):
        window_starts(10, 4, 0)
    with pytest.raises(ValueError, match="stride"):
        window_starts(10, 4, 5)
    with pytest.raises(ValueError, match="narrower"):
        extract_windows(torch.zeros(1, 3, 4, 3), [0], 4)
    with pytest.raises(ValueError, match="uncovered"):
        stitch(torch.zeros(1, 1, 1, 2), [0], 2, 4)


def test_grid_windows_slide_vertically_without_wrap():
    boxes = grid_windows(6, 10, (4, 4), (3, 3))
    tops = sorted({t for t, _ in boxes})
    assert tops == [0, 2]  # 0, then aligned to the bottom edge (no wrap vertically)
    assert boxes[:4] == [(0, 0), (0, 3), (0, 6), (0, 9)]
    with pytest.raises(ValueError, match="height 3 px"):
        grid_windows(3, 10, (4, 4), (2, 3))


def test_2d_extract_stitch_and_overlaps():
    h, w, wh, ww = 6, 10, 4, 4
    boxes = grid_windows(h, w, (wh, ww), (2, 3))
    x = torch.randn(2, 3, h, w)
    win = extract_windows_2d(x, boxes, (wh, ww))
    assert win.shape == (2 * len(boxes), 3, wh, ww)
    assert torch.allclose(stitch_2d(win, boxes, (wh, ww), (h, w)), x, atol=1e-6)
    # seam window of the lower row: rows 2..5, columns 9,0,1,2
    k = boxes.index((2, 9))
    assert torch.equal(win[k], torch.cat([x[0, :, 2:6, 9:], x[0, :, 2:6, :3]], -1))

    ids = torch.arange(h * w).view(1, h, w)
    wid = extract_windows_2d(ids, boxes, (wh, ww), flat=False)[0]
    pairs = overlaps_2d(boxes, (wh, ww), (h, w))
    # hand-listed: (0, 0) and (2, 9) share rows 2-3 and columns 0-2 (across the seam)
    assert Overlap2D(0, k, (2, 3), (0, 1), (0, 1, 2), (1, 2, 3)) in pairs
    found = {(o.i, o.j) for o in pairs}
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            shared = set(wid[i].flatten().tolist()) & set(wid[j].flatten().tolist())
            assert ((i, j) in found) == bool(shared)
    for o in pairs:
        a = wid[o.i][list(o.rows_i)][:, list(o.cols_i)]
        b = wid[o.j][list(o.rows_j)][:, list(o.cols_j)]
        assert torch.equal(a, b)
        assert set(a.flatten().tolist()) == set(wid[o.i].flatten().tolist()) & set(wid[o.j].flatten().tolist())


@pytest.mark.parametrize("vertical", [False, True])
def test_window_grid_extracts_crops_and_stitches(vertical):
    from samdistill.goodsam.windows import WindowConfig, WindowGrid, extract_windows, window_starts

    cfg = WindowConfig(window=8, stride=6, wrap=True, window_h=4 if vertical else None, stride_h=3)
    x = torch.rand(2, 3, 10, 20)
    grid = WindowGrid.for_size(cfg, 10, 20)
    win = grid.extract(x)
    assert win.shape == (2 * len(grid), 3, *grid.window_hw)
    if not vertical:  # the 1-D path, unchanged
        torch.testing.assert_close(win, extract_windows(x, window_starts(20, 8, 6, True), 8))
    else:  # rows 0, 3, 6 (the last aligned to the bottom edge) x the 1-D columns
        assert len(grid) == 3 * len(window_starts(20, 8, 6, True)) and grid.boxes[-1][0] == 6
    for k in (0, len(grid) - 1):  # the seam window included
        torch.testing.assert_close(grid.crop(x[1], k), win[len(grid) + k])
    torch.testing.assert_close(grid.stitch(win), x)


def test_stitch_labels_votes_in_overlaps_and_ignores_undecided():
    from samdistill.goodsam.config import WindowConfig
    from samdistill.goodsam.windows import WindowGrid

    grid = WindowGrid.for_size(WindowConfig(window=4, stride=2, wrap=True), 1, 8)  # starts 0, 2, 4, 6
    windows = torch.full((len(grid), 1, 4), 255)
    windows[0] = torch.tensor([1, 1, 1, 1])  # columns 0-3
    windows[1] = torch.tensor([2, 2, 255, 255])  # columns 2-5: columns 2, 3 tie 1 vs 2 -> 1 (lowest id)
    windows[3, 0, 2:] = 3  # columns 0, 1 seen again as class 3: 1 vs 3 -> 1
    out = grid.stitch_labels(windows, num_classes=4)
    assert out.shape == (1, 1, 8)
    assert out[0, 0].tolist() == [1, 1, 1, 1, 255, 255, 255, 255]


def test_goodsam_windows_re_exports_the_data_geometry():
    import samdistill.data.pano_windows as geometry
    import samdistill.goodsam.windows as old

    for name in ("Overlap", "Overlap2D", "WindowGrid", "extract_windows", "extract_windows_2d", "grid_windows",
                 "overlaps", "overlaps_2d", "stitch", "stitch_2d", "window_columns", "window_starts"):
        assert getattr(old, name) is getattr(geometry, name), name
