"""Find (image, label) samples in the segmentation layouts, and report every problem at once.

``find_samples(cfg)`` lists the matched samples (natural sort order) and remembers what did not
match; ``validate_samples`` adds duplicate names, unreadable files and image/label size mismatches;
``resolve_samples`` does both and stops (``on_bad: error``) or warns and skips (``skip``).
Only files of the requested label kind are looked at: ``*_color.png``, ``*_instanceIds.png``,
polygons and any tree beside ``leftImg8bit/`` and ``gtFine/`` (``depth/``, ``world/``) are ignored.
"""
from __future__ import annotations

import logging
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Hashable, Iterable, Literal, Optional

from samdistill.data.checking import check_items, size_or_error
from samdistill.core.errors import DataError
from samdistill.data.io import is_image_file, natural_key
from samdistill.data.segmentation.config import SegDatasetConfig

log = logging.getLogger(__name__)

LabelKind = Literal["trainIds", "labelIds"]
EXPECTED_TREES = {
    "cityscapes": "ROOT/leftImg8bit/{split}/{city}/NAME_leftImg8bit.png  and  "
                  "ROOT/gtFine/{split}/{city}/NAME_gtFine_labelTrainIds.png (or NAME_gtFine_labelIds.png)",
    "densepass": "ROOT/leftImg8bit/val/{n}_.png  and  ROOT/gtFine/val/{n}_labelTrainIds.png;  "
                 "unlabeled: ROOT/leftImg8bit/train/{City}/{k}.jpg",
    "folders": "ROOT/IMAGE_DIR/KEY.png  and  ROOT/LABEL_DIR/KEY.png  (or keys from `pattern` / `label_pattern`)",
}
_SUFFIX = {"trainIds": "labelTrainIds", "labelIds": "labelIds"}


@dataclass(frozen=True)
class SegSample:
    image: Path
    label: Optional[Path]  # None: unlabeled
    name: str
    label_kind: LabelKind = "trainIds"  # how the label's pixels are encoded


class SampleList(list):
    """A list of samples that also carries the problems the scan found (unmatched files, duplicates)."""

    def __init__(self, samples: Iterable[SegSample] = (), scan_problems: Iterable[str] = ()):
        super().__init__(samples)
        self.scan_problems = list(scan_problems)


class SampleError(DataError):
    """Every problem found in a segmentation dataset, not just the first."""

    def __init__(self, root, problems: list[str]):
        self.root = root
        self.problems = list(problems)
        shown = "\n  ".join(self.problems[:50])
        more = f"\n  ... and {len(self.problems) - 50} more" if len(self.problems) > 50 else ""
        super().__init__(f"{root}: {len(self.problems)} segmentation sample problem(s):\n  {shown}{more}\n"
                         "Fix the files, or set on_bad: skip in the dataset config to leave them out.")


def find_samples(cfg: SegDatasetConfig) -> SampleList:
    """All matched samples of ``cfg``'s layout, in natural sort order (``limit`` not applied)."""
    samples, problems = _SCANNERS[cfg.layout](cfg)
    return SampleList(samples, problems)


def validate_samples(samples: list[SegSample], check_files: bool = True, full_decode: bool = False,
                     cfg: Optional[SegDatasetConfig] = None) -> tuple[list[SegSample], list[str]]:
    """(good samples, every problem): the scan's problems, duplicate names, unreadable files, and
    labels whose size differs from their image. ``full_decode`` decodes every pixel of images and
    labels (catches truncation) instead of reading headers only: in parallel, cached per dataset
    root and split of ``cfg`` (``data.decode_check``). Label *values* are checked when read."""
    sizes: dict = {}
    if check_files and full_decode:
        from samdistill.data.decode_check import cache_file_for, decode_check

        cache = cache_file_for(dataset_root(cfg), cfg.cache_dir, _cache_part(cfg)) if cfg is not None else None
        sizes.update(decode_check([p for s in samples for p in (s.image, s.label) if p is not None], cache))
    good, problems = check_items(samples, lambda s: s.name, lambda s: s.image,
                                 (lambda s: _file_problem(s, sizes, full_decode)) if check_files else None)
    return good, list(getattr(samples, "scan_problems", [])) + problems


def resolve_samples(cfg: SegDatasetConfig, full_decode: bool = False) -> list[SegSample]:
    """Find and validate; raise SampleError on problems unless ``cfg.on_bad == 'skip'``."""
    found = find_samples(cfg)
    if cfg.limit is not None:
        found = SampleList(found[: cfg.limit], found.scan_problems)
    good, problems = validate_samples(found, full_decode=full_decode, cfg=cfg)
    root = dataset_root(cfg)
    if problems and cfg.on_bad == "error":
        raise SampleError(root, problems)
    if problems:
        log.warning("%s: skipping %d sample problem(s):\n  %s", root, len(problems), "\n  ".join(problems))
    if not good:
        raise DataError(f"{root}: no usable samples for layout {cfg.layout!r} split {cfg.split!r}; "
                        f"expected {EXPECTED_TREES[cfg.layout]}")
    return good


# --- validation ---------------------------------------------------------------------------------


def _cache_part(cfg: SegDatasetConfig) -> str:
    """What tells apart the file sets of one root: the split, and the folders layout's folders."""
    return ":".join(str(v) for v in (cfg.layout, cfg.split, cfg.image_dir, cfg.label_dir) if v)


def _file_problem(sample: SegSample, sizes: dict, full_decode: bool) -> Optional[str]:
    paths = [sample.image] + ([sample.label] if sample.label is not None else [])
    found = [size_or_error(p, sizes, full_decode) for p in paths]
    unreadable = [f"unreadable: {s}" for s in found if isinstance(s, str)]
    if unreadable:
        return "; ".join(unreadable)
    if len(found) == 2 and found[0] != found[1]:
        (iw, ih), (lw, lh) = found
        return (f"size mismatch: image {sample.image} is {iw}x{ih} but label {sample.label} is {lw}x{lh} (WxH)")
    return None


# --- scanning -----------------------------------------------------------------------------------


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if is_image_file(p)), key=lambda p: natural_key(p.name))


def _subdirs(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted((d for d in folder.iterdir() if d.is_dir()), key=lambda d: natural_key(d.name))


def dataset_root(cfg: SegDatasetConfig) -> Path:
    """The root folder; the street world's names resolve to its cached folders (built on first use)."""
    from samdistill.world.embedded import WORLD_NAMES, resolve_world_name

    if cfg.root in WORLD_NAMES:
        return resolve_world_name(cfg.root, cfg.cache_dir)
    return Path(cfg.root).expanduser()


def _require_dir(folder: Path, cfg: SegDatasetConfig) -> Path:
    if not folder.is_dir():
        raise DataError(f"{folder}: folder not found; layout {cfg.layout!r} expects {EXPECTED_TREES[cfg.layout]}")
    return folder


def _kinds(cfg: SegDatasetConfig) -> tuple[LabelKind, ...]:
    """Label kinds to look for, in order of preference."""
    return ("trainIds", "labelIds") if cfg.labels == "auto" else (cfg.labels,)


def _kind_of_stem(stem: str, kinds: tuple[LabelKind, ...]) -> Optional[tuple[LabelKind, str]]:
    """(kind, stem without the kind suffix) when ``stem`` ends with a requested label suffix."""
    for kind in kinds:
        if stem.endswith(_SUFFIX[kind]):
            return kind, stem[: -len(_SUFFIX[kind])]
    return None


def _match(images: list[tuple[Hashable, Path]], labels: list[tuple[Hashable, LabelKind, Path]],
           kinds: tuple[LabelKind, ...], required: bool, name_of: Callable[[Hashable], str],
           expected: str) -> tuple[list[SegSample], list[str]]:
    """Pair images with labels by key (the first kind in ``kinds`` that exists for the key).
    Reports duplicate image or label keys, images without a label (when ``required``) and labels
    without an image."""
    problems: list[str] = []
    image_paths: dict[Hashable, list[Path]] = defaultdict(list)
    for key, path in images:
        image_paths[key].append(path)
    label_paths: dict[tuple[Hashable, LabelKind], list[Path]] = defaultdict(list)
    for key, kind, path in labels:
        label_paths[(key, kind)].append(path)
    for key, paths in image_paths.items():
        if len(paths) > 1:
            problems.append(f"duplicate image key {key!r}: " + ", ".join(map(str, paths)))
    for (key, kind), paths in label_paths.items():
        if len(paths) > 1:
            problems.append(f"duplicate {kind} label key {key!r}: " + ", ".join(map(str, paths)))
    samples = []
    for key, path in images:
        if len(image_paths[key]) > 1:
            continue
        kind = next((k for k in kinds if (key, k) in label_paths), None)
        if kind is None:
            if required:
                problems.append(f"unmatched image: {path} (no label; expected {expected})")
            else:
                samples.append(SegSample(image=path, label=None, name=name_of(key)))
            continue
        if len(label_paths[(key, kind)]) == 1:
            samples.append(SegSample(image=path, label=label_paths[(key, kind)][0], name=name_of(key), label_kind=kind))
    for (key, _), paths in label_paths.items():
        if key not in image_paths:
            problems.extend(f"unmatched label: {p} (no image for it)" for p in paths)
    return samples, problems


def _scan_cityscapes(cfg: SegDatasetConfig):
    root = _require_dir(dataset_root(cfg), cfg)
    image_base = _require_dir(root / "leftImg8bit" / cfg.split, cfg)
    label_base = root / "gtFine" / cfg.split
    kinds, images, labels, problems = _kinds(cfg), [], [], []
    for city in _subdirs(image_base):
        for path in _files(city):
            if path.stem.endswith("_leftImg8bit"):
                images.append(((city.name, path.stem[: -len("_leftImg8bit")]), path))
            else:
                problems.append(f"unexpected image name: {path} (expected NAME_leftImg8bit.png)")
    for city in _subdirs(label_base):
        for path in _files(city):
            found = _kind_of_stem(path.stem, kinds)
            if found and found[1].endswith("_gtFine_"):
                labels.append(((city.name, found[1][: -len("_gtFine_")]), found[0], path))
    required = cfg.split != "test"  # the official test labels are placeholders; allow them to be absent
    wanted = " or ".join(f"gtFine/{cfg.split}/CITY/NAME_gtFine_{_SUFFIX[k]}.png" for k in kinds)
    samples, more = _match(images, labels, kinds, required, lambda key: key[1], wanted)
    return samples, problems + more


def _densepass_key(stem: str) -> str:
    return stem.split("_", 1)[0]


def _scan_densepass(cfg: SegDatasetConfig):
    root = _require_dir(dataset_root(cfg), cfg)
    if cfg.split == "train":  # unlabeled panoramas: leftImg8bit/train/{City}/{k}.jpg (or directly in train/)
        base = _require_dir(root / "leftImg8bit" / "train", cfg)
        samples = [SegSample(image=p, label=None, name=p.stem) for p in _files(base)]
        for city in _subdirs(base):
            samples += [SegSample(image=p, label=None, name=f"{city.name}_{p.stem}") for p in _files(city)]
        return samples, []
    image_dir = _require_dir(root / "leftImg8bit" / "val", cfg)  # DensePASS keeps its test set in val/
    kinds, images, labels, problems = _kinds(cfg), [], [], []
    for path in _files(image_dir):
        key = _densepass_key(path.stem)
        if key:
            images.append((key, path))
        else:
            problems.append(f"unexpected image name: {path} (expected {{n}}_.png or {{n}}.png)")
    for path in _files(root / "gtFine" / "val"):
        found = _kind_of_stem(path.stem, kinds)
        key = _densepass_key(found[1]) if found else ""
        if key:
            labels.append((key, found[0], path))
    wanted = " or ".join(f"gtFine/val/{{n}}_{_SUFFIX[k]}.png" for k in kinds)
    samples, more = _match(images, labels, kinds, True, str, wanted)
    return samples, problems + more


def _regex(pattern: Optional[str], field: str) -> Callable[[str], Optional[str]]:
    if not pattern:
        return lambda stem: stem
    try:
        regex = re.compile(pattern)
    except re.error as err:
        raise DataError(f"{field} {pattern!r} is not a valid regex: {err}") from err
    if regex.groups < 1:
        raise DataError(f"{field} {pattern!r} needs one capture group (the matching key)")

    def key(stem: str) -> Optional[str]:
        match = regex.search(stem)
        return match.group(1) if match else None

    return key


def _scan_folders(cfg: SegDatasetConfig):
    root = _require_dir(dataset_root(cfg), cfg)
    image_dir = _require_dir(root / cfg.image_dir, cfg)
    image_key, label_key = _regex(cfg.pattern, "pattern"), _regex(cfg.label_pattern, "label_pattern")
    images, problems = [], []
    for path in _files(image_dir):
        key = image_key(path.stem)
        if key is None:
            problems.append(f"unmatched image: {path} (name does not fit pattern {cfg.pattern!r})")
        else:
            images.append((key, path))
    if not cfg.label_dir:
        return [SegSample(image=p, label=None, name=k) for k, p in images], problems
    label_dir = _require_dir(root / cfg.label_dir, cfg)
    labels = []
    for path in _files(label_dir):
        key = label_key(path.stem)
        if key is None:
            continue  # not a label (e.g. a colour visualisation beside it)
        if cfg.labels == "auto":
            kind: LabelKind = "labelIds" if path.stem.endswith("labelIds") else "trainIds"
        else:
            kind = cfg.labels
        labels.append((key, kind, path))
    wanted = f"{cfg.label_dir}/ file whose key (stem{' via label_pattern' if cfg.label_pattern else ''}) is the same"
    samples, more = _match(images, labels, ("trainIds", "labelIds"), True, str, wanted)
    return samples, problems + more


_SCANNERS = {"cityscapes": _scan_cityscapes, "densepass": _scan_densepass, "folders": _scan_folders}
