"""Decode every image of a dataset once before training, in parallel, and remember the results.

A file header does not show truncation: without this check training crashes at whatever step
first decodes a damaged file. `decode_check(paths, cache_file)` reads each file completely with
`read_image` (exactly what training does) on a thread pool (Pillow's decoders release the GIL)
and returns ``{path: (width, height) or problem text}``.

The cache (`cache_file_for(root)`, one JSON file per dataset root in the cache folder) keeps each
file's size, mtime, content hash and result: an unchanged file is not read at all (a second run
is instant), a touched or re-copied file with the same bytes is hashed, not decoded again.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterable, Optional, Union

import PIL

from samdistill.core.atomic import atomic_write_text
from samdistill.core.cache_dir import default_cache_dir
from samdistill.data.io import read_image

log = logging.getLogger(__name__)

FORMAT = "samdistill-decode-check/1"
Result = Union[tuple[int, int], str]  # (width, height), or the problem ("PATH: cannot read image: ...")


def cache_file_for(root: Path, cache_dir: Optional[str | Path] = None, part: str = "") -> Path:
    """The cache of one dataset root (keyed by its absolute path, so datasets never share one);
    ``part`` names one of several file sets under the same root (a segmentation split), each kept
    in a cache of its own, as a check keeps only the files it was given."""
    name = str(Path(root).expanduser().resolve()) + (f"\0{part}" if part else "")
    key = hashlib.sha1(name.encode()).hexdigest()[:16]
    return Path(cache_dir or default_cache_dir()) / "decode-check" / f"{key}.json"


def default_workers() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def decode_check(paths: Iterable[Path], cache_file: Optional[Path] = None, workers: Optional[int] = None,
                 progress: Optional[bool] = None) -> dict[Path, Result]:
    """Every file's (width, height) or the reason it cannot be read; `progress` (default: when
    stderr is a terminal) shows a tqdm bar."""
    files = list(dict.fromkeys(Path(p) for p in paths))
    cached = _load(cache_file)
    by_digest = {entry[2]: entry[3] for entry in cached.values()}
    results: dict[Path, Result] = {}
    entries: dict[str, list] = {}
    todo: list[tuple[Path, int, int]] = []
    for path in files:
        try:
            st = path.stat()
        except OSError as err:
            results[path] = f"{path}: cannot read image: {err.strerror or err}"
            continue
        entry = cached.get(str(path))
        if entry and entry[0] == st.st_size and entry[1] == st.st_mtime_ns:
            results[path] = _result(entry[3])
            entries[str(path)] = entry
        else:
            todo.append((path, st.st_size, st.st_mtime_ns))
    if todo:
        started = time.monotonic()
        show = sys.stderr.isatty() if progress is None else progress
        from tqdm.auto import tqdm

        with ThreadPoolExecutor(workers or default_workers()) as pool, \
                tqdm(total=len(todo), desc="decode check", unit="img", disable=not show, leave=False) as bar:
            for (path, size, mtime), (digest, result) in zip(todo, pool.map(lambda t: _check(t[0], by_digest), todo)):
                results[path] = result
                entries[str(path)] = [size, mtime, digest, list(result) if isinstance(result, tuple) else result]
                bar.update(1)
        log.info("decode check: %d of %d image(s) read in %.1f s (%d unchanged since the last check)",
                 len(todo), len(files), time.monotonic() - started, len(files) - len(todo))
    if cache_file is not None and (todo or len(entries) != len(cached)):
        _save(cache_file, entries)
    return results


def _check(path: Path, by_digest: dict[str, object]) -> tuple[str, Result]:
    try:
        digest = _digest(path)
    except OSError as err:
        return "", f"{path}: cannot read image: {err.strerror or err}"
    if digest in by_digest:
        return digest, _result(by_digest[digest])
    try:
        img = read_image(path)
    except Exception as err:  # noqa: BLE001 - any decoder failure means training cannot read it
        text = str(err)
        return digest, text if text.startswith(str(path)) else f"{path}: cannot read image: {type(err).__name__}: {text}"
    return digest, (int(img.shape[1]), int(img.shape[0]))


def _digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _result(stored: object) -> Result:
    return tuple(stored) if isinstance(stored, list) else str(stored)  # type: ignore[return-value]


def _decoder() -> str:
    return f"pillow {PIL.__version__}"


def _load(cache_file: Optional[Path]) -> dict[str, list]:
    """Entries of a readable cache written by the same decoder; anything else counts as empty."""
    if cache_file is None or not cache_file.is_file():
        return {}
    try:
        data = json.loads(cache_file.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT or data.get("decoder") != _decoder():
            return {}
        return {k: v for k, v in data["files"].items() if isinstance(v, list) and len(v) == 4}
    except (OSError, ValueError, KeyError, AttributeError, TypeError):
        log.warning("%s: unreadable decode-check cache, checking every image again", cache_file)
        return {}


def _save(cache_file: Path, entries: dict[str, list]) -> None:
    """Atomic replace, so concurrent processes (DDP ranks) never read half a file; a cache that
    cannot be written only costs time."""
    try:
        atomic_write_text(cache_file, json.dumps({"format": FORMAT, "decoder": _decoder(), "files": entries}))
    except OSError as err:
        log.warning("%s: cannot write the decode-check cache (%s)", cache_file, err)
