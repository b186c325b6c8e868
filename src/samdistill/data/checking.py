"""The one rule both dataset kinds (restoration pairs, segmentation samples) validate with:
items sharing a name are all reported (none kept), every other item is kept unless its own check
returns a problem."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Callable, Optional, Sequence, TypeVar

from samdistill.core.errors import ImageReadError
from samdistill.data.io import check_image, image_size

T = TypeVar("T")


def check_items(items: Sequence[T], name_of: Callable[[T], str], path_of: Callable[[T], object],
                problem_of: Optional[Callable[[T], Optional[str]]]) -> tuple[list[T], list[str]]:
    """(good items, problems): one "duplicate name" line per shared name, then each item's problem."""
    groups: dict[str, list[T]] = defaultdict(list)
    for item in items:
        groups[name_of(item)].append(item)
    good, problems = [], []
    for item in items:
        same = groups[name_of(item)]
        if len(same) > 1:
            if item is same[0]:
                problems.append(f"duplicate name {name_of(item)!r}: " + ", ".join(str(path_of(s)) for s in same))
            continue
        issue = problem_of(item) if problem_of is not None else None
        if issue:
            problems.append(issue)
        else:
            good.append(item)
    return good, problems


def size_or_error(path: Path, sizes: dict, full_decode: bool) -> tuple[int, int] | str:
    """`path`'s (W, H) (every pixel decoded with `full_decode`), or the read error's message; memoized
    in `sizes` (a file shared by several items is read once)."""
    if path not in sizes:
        try:
            sizes[path] = check_image(path) if full_decode else image_size(path)
        except ImageReadError as err:
            sizes[path] = str(err)
    return sizes[path]
