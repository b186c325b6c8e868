"""Find (LQ, GT) pairs in the published folder layouts, and report every pairing problem at once.

``find_pairs(cfg)`` lists the matched pairs (in natural sort order) and remembers what did not
match; ``validate_pairs`` adds duplicate names, unreadable files and size mismatches;
``resolve_pairs`` does both and stops (``on_bad_pairs: error``) or warns and skips (``skip``).
"""
from __future__ import annotations

import logging
import re
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Hashable, Iterable, Optional

from samdistill.data.checking import check_items, size_or_error
from samdistill.data.config import DatasetConfig
from samdistill.core.errors import DataError, ImageReadError
from samdistill.data.errors import PairingError
from samdistill.data.io import Box, image_size, is_image_file, natural_key

log = logging.getLogger(__name__)

EXPECTED_TREES = {
    "rain200": "ROOT/norain/norain-{i}.png  and  ROOT/rain/X2/norain-{i}x2.png  (or ROOT/rain/norain-{i}x2.png)",
    "restormer": "ROOT/input/NAME.png  and  ROOT/target/NAME.png  (same names; or ROOT/{split}/input, ROOT/{split}/target)",
    "didmdn": "ROOT/NAME.jpg, each file rainy | clean side by side (didmdn_lq_side picks the rainy half)",
    "ddn": "ROOT/rainy_image/{i}_{k}.jpg (k = 1..14)  and  ROOT/ground_truth/{i}.jpg",
    "gopro": "ROOT/{split}/{sequence}/blur/{frame}.png  and  ROOT/{split}/{sequence}/sharp/{frame}.png  (ROOT may be the split folder)",
    "sidd": "ROOT/Data/{scene}/{id}_NOISY_SRGB_{k}.PNG  and  {id}_GT_SRGB_{k}.PNG in the same scene folder",
    "folders": "ROOT/LQ_DIR/NAME.png  and  ROOT/GT_DIR/NAME.png  (or keys from the regex `pattern`)",
    "embedded": "CACHE/{name}/v1/{split}/input/*.png  and  .../target/*.png (built automatically)",
    "raincityscapes": "ROOT/leftImg8bit_rain/{split}/{city}/{city}_{seq}_{frame}_leftImg8bit_rain_alpha_*_beta_*_dropsize_*"
                      "_pattern_*.png  and  ROOT/leftImg8bit/{split}/{city}/{city}_{seq}_{frame}_leftImg8bit.png "
                      "(labels: ROOT/gtFine/{split}/{city}/..._gtFine_labelIds.png)",
}


@dataclass(frozen=True)
class Pair:
    lq: Path
    gt: Path
    name: str
    lq_box: Optional[Box] = None  # (left, upper, right, lower) when LQ is part of a file
    gt_box: Optional[Box] = None
    label: Optional[Path] = None  # semantic label of the scene, where the layout has one (downstream eval)


class PairList(list):
    """A list of pairs that also carries the pairing problems the scan found (unmatched files)."""

    def __init__(self, pairs: Iterable[Pair] = (), scan_problems: Iterable[str] = ()):
        super().__init__(pairs)
        self.scan_problems = list(scan_problems)


def find_pairs(cfg: DatasetConfig) -> PairList:
    """All matched pairs of ``cfg``'s layout, in natural sort order (``limit`` not applied)."""
    scanner = _SCANNERS[cfg.layout]
    pairs, problems = scanner(cfg)
    return PairList(pairs, problems)


def validate_pairs(pairs: list[Pair], cfg: Optional[DatasetConfig] = None, check_images: bool = True,
                   full_decode: bool = False, crop_size: Optional[int] = None) -> tuple[list[Pair], list[str]]:
    """(good pairs, every problem). Problems: unmatched LQ/GT, duplicate names, unreadable files,
    LQ/GT size mismatch, and with ``crop_size`` an image smaller than the training crop (found here,
    not at the random step that draws it). ``full_decode`` decodes every pixel (catches truncation)
    instead of reading headers only: in parallel, cached per dataset root (``data.decode_check``)."""
    scan_problems = getattr(pairs, "scan_problems", None)
    if scan_problems is None:
        scan_problems = find_pairs(cfg).scan_problems if cfg is not None else []
    sizes: dict[Path, tuple[int, int] | str] = {}
    if check_images and full_decode:
        from samdistill.data.decode_check import cache_file_for, decode_check

        cache = cache_file_for(dataset_root(cfg), cfg.cache_dir) if cfg is not None else None
        sizes.update(decode_check([path for p in pairs for path in (p.lq, p.gt)], cache))
    good, problems = check_items(pairs, lambda p: p.name, lambda p: p.lq,
                                 (lambda p: _image_problem(p, sizes, full_decode, crop_size)) if check_images else None)
    return good, list(scan_problems) + problems


def resolve_pairs(cfg: DatasetConfig, full_decode: bool = False, crop_size: Optional[int] = None) -> list[Pair]:
    """Find and validate (with ``crop_size``: every pair holds a training crop); raise PairingError
    listing every problem unless ``cfg.on_bad_pairs == 'skip'``, which logs them, one line each."""
    found = find_pairs(cfg)
    if cfg.limit is not None:
        found = PairList(found[: cfg.limit], found.scan_problems)
    good, problems = validate_pairs(found, cfg, full_decode=full_decode, crop_size=crop_size)
    root = dataset_root(cfg)
    if problems and cfg.on_bad_pairs == "error":
        raise PairingError(root, problems)
    if problems:
        log.warning("%s: skipping %d pairing problem(s):\n  %s", root, len(problems), "\n  ".join(problems))
    if not good:
        raise DataError(f"{root}: no usable image pairs for layout {cfg.layout!r}; expected {EXPECTED_TREES[cfg.layout]}")
    return good


def dataset_root(cfg: DatasetConfig) -> Path:
    if cfg.layout == "embedded":
        from samdistill.data.embedded import embedded_dir

        return embedded_dir(cfg.name, cfg.cache_dir) / cfg.split
    return Path(cfg.root).expanduser()


# --- validation helpers ------------------------------------------------------------------------


def _image_problem(pair: Pair, sizes: dict, full_decode: bool, crop_size: Optional[int] = None) -> Optional[str]:
    lq_size = size_or_error(pair.lq, sizes, full_decode)
    gt_size = size_or_error(pair.gt, sizes, full_decode)
    unreadable = [f"unreadable: {s}" for s in (lq_size, gt_size) if isinstance(s, str)]
    if unreadable:
        return "; ".join(dict.fromkeys(unreadable))
    if pair.lq == pair.gt and lq_size[0] % 2:
        return f"odd width: {pair.lq} is {lq_size[0]}x{lq_size[1]}, cannot split into two equal halves"
    lq_wh, gt_wh = _box_size(pair.lq_box, lq_size), _box_size(pair.gt_box, gt_size)
    if lq_wh != gt_wh:
        return (f"size mismatch: LQ {pair.lq} is {lq_wh[0]}x{lq_wh[1]} but GT {pair.gt} is "
                f"{gt_wh[0]}x{gt_wh[1]} (WxH)")
    if crop_size is not None and min(lq_wh) < crop_size:
        return (f"smaller than the crop: {pair.lq} is {lq_wh[0]}x{lq_wh[1]} (WxH), smaller than the "
                f"{crop_size}x{crop_size} training crop (data.crop_size); lower it or remove the pair")
    return None


def _box_size(box: Optional[Box], size: tuple[int, int]) -> tuple[int, int]:
    return size if box is None else (box[2] - box[0], box[3] - box[1])


# --- scanning -----------------------------------------------------------------------------------


def _images(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if is_image_file(p)), key=lambda p: natural_key(p.name))


def _require_dir(folder: Path, cfg: DatasetConfig) -> Path:
    if not folder.is_dir():
        raise DataError(f"{folder}: folder not found; layout {cfg.layout!r} expects {EXPECTED_TREES[cfg.layout]}")
    return folder


def _match(lq_files: list[Path], lq_key: Callable[[Path], Optional[Hashable]], gt_files: list[Path],
           gt_key: Callable[[Path], Hashable], name_of: Callable[[Path, Hashable], str], expected: str) -> tuple[list[Pair], list[str]]:
    """Pair LQ files with GT files by key; report LQ without GT, GT without LQ, ambiguous GT keys.
    One GT may serve several LQ files (ddn); two LQ files with the same name are caught by validate_pairs."""
    gt_by_key: dict[Hashable, list[Path]] = defaultdict(list)
    for gt in gt_files:
        gt_by_key[gt_key(gt)].append(gt)
    pairs, problems, used = [], [], set()
    for key, gts in gt_by_key.items():
        if len(gts) > 1:
            problems.append(f"duplicate GT key {key!r}: " + ", ".join(map(str, gts)))
    for lq in lq_files:
        key = lq_key(lq)
        if key is None:
            problems.append(f"unmatched LQ: {lq} (name does not fit {expected})")
        elif key not in gt_by_key:
            problems.append(f"unmatched LQ: {lq} (no GT for key {key!r}; expected {expected})")
        else:
            used.add(key)
            if len(gt_by_key[key]) == 1:
                pairs.append(Pair(lq=lq, gt=gt_by_key[key][0], name=name_of(lq, key)))
    for key, gts in gt_by_key.items():
        if key not in used:
            problems.extend(f"unmatched GT: {gt} (no LQ image for it)" for gt in gts)
    return pairs, problems


def _stem_key(path: Path) -> str:
    return path.stem


def _scan_rain200(cfg: DatasetConfig):
    root = _require_dir(Path(cfg.root).expanduser(), cfg)
    gt_dir = _require_dir(root / "norain", cfg)
    rain = _require_dir(root / "rain", cfg)
    lq_dir = rain / "X2" if (rain / "X2").is_dir() else rain

    def lq_key(p: Path) -> Optional[str]:
        return p.stem[:-2] if p.stem.lower().endswith("x2") else None

    return _match(_images(lq_dir), lq_key, _images(gt_dir), _stem_key, lambda p, k: k, "norain-{i}x2 -> norain/norain-{i}")


def _scan_restormer_dir(base: Path, cfg: DatasetConfig):
    lq_dir, gt_dir = _require_dir(base / "input", cfg), _require_dir(base / "target", cfg)
    return _match(_images(lq_dir), _stem_key, _images(gt_dir), _stem_key, lambda p, k: k, "target/ file with the same name")


def _scan_restormer(cfg: DatasetConfig):
    root = _require_dir(Path(cfg.root).expanduser(), cfg)
    base = root / cfg.split if not (root / "input").is_dir() and (root / cfg.split / "input").is_dir() else root
    return _scan_restormer_dir(base, cfg)


def _scan_embedded(cfg: DatasetConfig):
    from samdistill.data.embedded import ensure_embedded

    base = ensure_embedded(cfg.name, cfg.cache_dir) / cfg.split
    pairs, problems = _scan_restormer_dir(base, cfg)
    labels = base / "labels"  # street-world benchmarks: the scene's train ids
    if labels.is_dir():
        pairs = [replace(p, label=labels / f"{p.name}_labelTrainIds.png") for p in pairs]
    return pairs, problems


_RAIN_NAME = re.compile(r"(?P<key>.+_\d+_\d+)_leftImg8bit_rain_(?P<rain>alpha_.+_beta_.+_dropsize_.+_pattern_.+)")


def _scan_raincityscapes(cfg: DatasetConfig):
    """RainCityscapes: 36 rainy versions of each clean Cityscapes image, the clean one as GT, and its
    Cityscapes label (labelTrainIds if present, else labelIds). `split: test` reads val (the rainy test set)."""
    root = _require_dir(Path(cfg.root).expanduser(), cfg)
    split = cfg.split
    if split == "test" and not (root / "leftImg8bit_rain" / "test").is_dir():
        split = "val"
    rain_dir = _require_dir(root / "leftImg8bit_rain" / split, cfg)
    clean_dir = _require_dir(root / "leftImg8bit" / split, cfg)
    cities = sorted((d for d in rain_dir.iterdir() if d.is_dir()), key=lambda d: natural_key(d.name))
    pairs, problems = [], []
    for city in cities:
        clean = _images(clean_dir / city.name) if (clean_dir / city.name).is_dir() else []

        def lq_key(p: Path) -> Optional[str]:
            m = _RAIN_NAME.fullmatch(p.stem)
            return m.group("key") if m else None

        def gt_key(p: Path) -> Optional[str]:
            return p.stem[: -len("_leftImg8bit")] if p.stem.endswith("_leftImg8bit") else p.stem

        def name_of(p: Path, key: str) -> str:
            return f"{key}_{_RAIN_NAME.fullmatch(p.stem).group('rain')}"

        found, trouble = _match(_images(city), lq_key, clean, gt_key, name_of,
                                f"leftImg8bit/{split}/{city.name}/{{city}}_{{seq}}_{{frame}}_leftImg8bit.png")
        problems += trouble
        gt_city = root / "gtFine" / split / city.name
        for pair in found:
            key = gt_key(pair.gt)
            label = next((p for p in (gt_city / f"{key}_gtFine_labelTrainIds.png", gt_city / f"{key}_gtFine_labelIds.png")
                          if p.is_file()), None)
            pairs.append(replace(pair, label=label))
    return pairs, problems


def _scan_didmdn(cfg: DatasetConfig):
    root = _require_dir(Path(cfg.root).expanduser(), cfg)
    pairs = []
    for path in _images(root):
        try:
            w, h = image_size(path)
        except ImageReadError:
            pairs.append(Pair(lq=path, gt=path, name=path.stem))  # validate_pairs reports it
            continue
        half = w // 2
        left, right = (0, 0, half, h), (w - half, 0, w, h)
        lq_box, gt_box = (left, right) if cfg.didmdn_lq_side == "left" else (right, left)
        pairs.append(Pair(lq=path, gt=path, name=path.stem, lq_box=lq_box, gt_box=gt_box))
    return pairs, []


def _scan_ddn(cfg: DatasetConfig):
    root = _require_dir(Path(cfg.root).expanduser(), cfg)
    lq_dir, gt_dir = _require_dir(root / "rainy_image", cfg), _require_dir(root / "ground_truth", cfg)

    def lq_key(p: Path) -> Optional[str]:
        match = re.fullmatch(r"(.+)_(\d+)", p.stem)
        return match.group(1) if match else None

    return _match(_images(lq_dir), lq_key, _images(gt_dir), _stem_key, lambda p, k: p.stem,
                  "rainy_image/{i}_{k} -> ground_truth/{i}")


def _scan_gopro(cfg: DatasetConfig):
    root = _require_dir(Path(cfg.root).expanduser(), cfg)
    base = root / cfg.split if (root / cfg.split).is_dir() else root
    sequences = sorted((d for d in base.iterdir() if (d / "blur").is_dir() or (d / "sharp").is_dir()),
                       key=lambda d: natural_key(d.name))
    if not sequences:
        raise DataError(f"{base}: no {{sequence}}/blur or {{sequence}}/sharp folders; layout 'gopro' expects "
                        f"{EXPECTED_TREES['gopro']}")
    pairs, problems = [], []
    for seq in sequences:
        lq = _images(seq / "blur") if (seq / "blur").is_dir() else []
        gt = _images(seq / "sharp") if (seq / "sharp").is_dir() else []
        found = _match(lq, _stem_key, gt, _stem_key, lambda p, k, s=seq.name: f"{s}_{k}", f"{seq.name}/sharp/ same name")
        pairs += found[0]
        problems += found[1]
    return pairs, problems


def _scan_sidd(cfg: DatasetConfig):
    root = _require_dir(Path(cfg.root).expanduser(), cfg)
    data = root / "Data" if (root / "Data").is_dir() else root
    scenes = sorted((d for d in data.iterdir() if d.is_dir()), key=lambda d: natural_key(d.name))
    pairs, problems = [], []
    for scene in scenes:
        files = _images(scene)
        noisy = [p for p in files if "_NOISY_" in p.stem.upper()]
        clean = [p for p in files if "_GT_" in p.stem.upper()]

        def key(p: Path, kind: str) -> Optional[tuple[str, str]]:
            match = re.fullmatch(rf"(.+)_{kind}_SRGB_(\d+)", p.stem, flags=re.IGNORECASE)
            return (match.group(1), match.group(2)) if match else None

        found = _match(noisy, lambda p: key(p, "NOISY"), clean, lambda p: key(p, "GT"),
                       lambda p, k: f"{k[0]}_{k[1]}", "{id}_GT_SRGB_{k} in the same scene folder")
        pairs += found[0]
        problems += found[1]
    return pairs, problems


def _scan_folders(cfg: DatasetConfig):
    root = _require_dir(Path(cfg.root).expanduser(), cfg)
    lq_dir, gt_dir = _require_dir(root / cfg.lq_dir, cfg), _require_dir(root / cfg.gt_dir, cfg)
    lq_key: Callable[[Path], Optional[str]] = _stem_key
    if cfg.pattern:
        try:
            regex = re.compile(cfg.pattern)
        except re.error as err:
            raise DataError(f"pattern {cfg.pattern!r} is not a valid regex: {err}") from err
        if regex.groups < 1:
            raise DataError(f"pattern {cfg.pattern!r} needs one capture group (the pairing key)")

        def lq_key(p: Path) -> Optional[str]:
            match = regex.search(p.stem)
            return match.group(1) if match else None

    expected = f"{cfg.gt_dir}/ file whose stem equals the key" + (f" from pattern {cfg.pattern!r}" if cfg.pattern else "")
    return _match(_images(lq_dir), lq_key, _images(gt_dir), _stem_key, lambda p, k: k, expected)


_SCANNERS = {
    "rain200": _scan_rain200,
    "restormer": _scan_restormer,
    "didmdn": _scan_didmdn,
    "ddn": _scan_ddn,
    "gopro": _scan_gopro,
    "sidd": _scan_sidd,
    "folders": _scan_folders,
    "embedded": _scan_embedded,
    "raincityscapes": _scan_raincityscapes,
}
