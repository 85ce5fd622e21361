"""``paired:PATH``: pairs of images (a source and its target), for image-to-image models.

Two layouts, told apart by what PATH holds:

- ``A/`` and ``B/`` subfolders: files pair up by their path below ``A/`` and ``B/`` without
  the extension (``A/x/1.jpg`` with ``B/x/1.png``). A file without a partner, or one whose
  name several files share on a side, is skipped, listed and reported, never a crash.
- otherwise, a folder of images each holding A|B side by side (the pix2pix datasets): the
  left half is A, the right half B; of an odd width the middle column belongs to neither.
  When PATH has a ``train/`` subfolder and no image of its own, ``train/`` is read (and
  ``train/A`` with ``train/B``, if there).

Each half or image becomes R x R exactly as ``folder:`` makes a whole image (the shorter
side resized, the centre cut out), through the same hardened pipeline and decode cache;
the side-by-side split is part of the cache key. ``request.direction`` picks the source:
``AtoB`` (A, the default) or ``BtoA``.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import torch
from torch import Tensor

from ganzoo.core.data.store import DIRECTIONS, DataRequest, DataStore
from ganzoo.core.errors import ConfigError, DataError
from ganzoo.core.paths import cache_dir
from ganzoo.plugins.datasets.folder import pipeline, reasons, scan, shards
from ganzoo.plugins.datasets.folder.cache import FileStamp
from ganzoo.plugins.datasets.folder.names import printable

USAGE = "paired:PATH (A/ and B/ subfolders, or A|B images side by side)"


def load(request: DataRequest) -> DataStore:
    pipeline.check_image_request(request, "paired", USAGE)
    if request.direction not in DIRECTIONS:
        got = printable(str(request.direction))
        raise ConfigError(f"the direction is one of {', '.join(DIRECTIONS)}; got {got}")
    root = pipeline.existing_folder(request.argument)
    layout, folder = find_layout(root)
    prefix = "" if folder == root else "train/"
    if layout == "folders":
        a, b, skipped, hit = _load_folders(folder, prefix, request)
        how = "A/ and B/"
    else:
        a, b, skipped, hit = _load_side_by_side(folder, prefix, request)
        how = "A|B side by side"
    source, target = (a, b) if request.direction == "AtoB" else (b, a)
    return DataStore(
        kind="image",
        source=source,
        target=target,
        description=(
            f"{len(source)} pairs from {printable(str(folder))} ({how}; "
            f"{'A to B' if request.direction == 'AtoB' else 'B to A'})"
        ),
        skipped=skipped,
        cache="hit" if hit else "miss",
    )


def find_layout(root: Path) -> tuple[str, Path]:
    """``("folders", F)`` for ``F/A`` and ``F/B``, or ``("halves", F)`` for a folder of A|B
    images; F is ``root``, or ``root/train`` when ``root`` holds no image of its own."""
    layout = _folders(root)
    if layout is not None:
        return layout, root
    train = root / "train"
    if train.is_dir() and not _top_level_images(root):
        return _folders(train) or "halves", train
    return "halves", root


def _folders(folder: Path) -> str | None:
    has_a, has_b = (folder / "A").is_dir(), (folder / "B").is_dir()
    if has_a and has_b:
        return "folders"
    if has_a or has_b:
        there, missing = ("A", "B") if has_a else ("B", "A")
        raise DataError(
            f"paired folder {printable(str(folder))} has {there}/ but no {missing}/: give both "
            "A/ and B/ with matching file names, or a folder of A|B images side by side"
        )
    return None


def _top_level_images(folder: Path) -> list[str]:
    try:
        with os.scandir(folder) as listing:
            return sorted(
                entry.name
                for entry in listing
                if scan.image_name(entry.name) and not entry.is_dir(follow_symlinks=False)
            )
    except OSError:
        return []


def _load_side_by_side(
    folder: Path, prefix: str, request: DataRequest
) -> tuple[Tensor, Tensor, list[tuple[str, str]], bool]:
    shown = printable(str(folder))
    files, not_files = pipeline.scan_images(folder, shown)
    decoded = pipeline.decode_cached(folder, files, request, layout="halves")
    unreadable = _prefixed(prefix, sorted(not_files + decoded.undecodable))
    if decoded.images is None:
        raise DataError(f"no readable image in {shown}; {reasons.skip_summary(unreadable)}")
    if unreadable and not decoded.hit:
        request.report(reasons.skip_summary(unreadable))
    return decoded.images[0], decoded.images[1], unreadable, decoded.hit


def _load_folders(
    folder: Path, prefix: str, request: DataRequest
) -> tuple[Tensor, Tensor, list[tuple[str, str]], bool]:
    shown = printable(str(folder))
    loose = _top_level_images(folder)
    if loose:
        noun = "image" if len(loose) == 1 else "images"
        request.report(
            f"left out {len(loose)} {noun} lying directly in {shown} (pairs come from A/ and B/)"
        )
    sides = {}
    for side in ("A", "B"):
        where = f"{side}/ of {shown}"
        sides[side] = pipeline.scan_images(folder / side, where)
    pairs, unpaired = match_pairs(sides["A"][0], sides["B"][0])
    unpaired = _prefixed(prefix, unpaired)
    if not pairs:
        count_a, count_b = len(sides["A"][0]), len(sides["B"][0])
        raise DataError(
            f"no pairs in {shown}: no file in A/ ({count_a}) has a partner of the same name "
            f"in B/ ({count_b}); {reasons.skip_summary(unpaired, 'unpaired')}"
        )
    if unpaired:
        request.report(reasons.skip_summary(unpaired, "unpaired"))

    decoded = {}
    unreadable: list[tuple[str, str]] = []
    for index, side in enumerate(("A", "B")):
        wanted = [pair[index] for pair in pairs]
        decoded[side] = pipeline.decode_cached(folder / side, wanted, request)
        not_files = sides[side][1] + decoded[side].undecodable
        unreadable += _prefixed(f"{prefix}{side}/", not_files)
    positions = {side: {n: i for i, n in enumerate(decoded[side].names)} for side in "AB"}
    keep_a, keep_b = [], []
    for (a_name, _, _), (b_name, _, _) in pairs:
        found_a, found_b = positions["A"].get(a_name), positions["B"].get(b_name)
        if found_a is not None and found_b is not None:
            keep_a.append(found_a)
            keep_b.append(found_b)
        elif found_a is not None:
            unpaired.append((f"{prefix}A/{a_name}", f"its partner B/{b_name} is unreadable"))
        elif found_b is not None:
            unpaired.append((f"{prefix}B/{b_name}", f"its partner A/{a_name} is unreadable"))
    unreadable.sort()
    hit = decoded["A"].hit and decoded["B"].hit
    if unreadable and not hit:
        request.report(reasons.skip_summary(unreadable))
    if not keep_a:
        raise DataError(f"no readable pair in {shown}; {reasons.skip_summary(unreadable)}")
    spill = request.cache_dir if request.cache_dir is not None else cache_dir("datasets")
    a = _rows(decoded["A"].images, keep_a, Path(spill))
    b = _rows(decoded["B"].images, keep_b, Path(spill))
    return a, b, sorted(unreadable + unpaired), hit


def match_pairs(
    a_files: list[FileStamp], b_files: list[FileStamp]
) -> tuple[list[tuple[FileStamp, FileStamp]], list[tuple[str, str]]]:
    """Files of A/ and B/ paired by their relative path without the extension, in that
    order; and the files left over, named ``A/...`` or ``B/...``, with the reason."""
    groups: dict[str, dict[str, list[FileStamp]]] = defaultdict(lambda: {"A": [], "B": []})
    for side, files in (("A", a_files), ("B", b_files)):
        for stamp in files:
            groups[os.path.splitext(stamp[0])[0]][side].append(stamp)
    pairs: list[tuple[FileStamp, FileStamp]] = []
    left_over: list[tuple[str, str]] = []
    for stem in sorted(groups):
        found = groups[stem]
        if len(found["A"]) == 1 and len(found["B"]) == 1:
            pairs.append((found["A"][0], found["B"][0]))
            continue
        for side, other in (("A", "B"), ("B", "A")):
            for name, _, _ in found[side]:
                if not found[other]:
                    reason = f"no partner in {other}/"
                else:
                    counts = f"{len(found['A'])} in A/ and {len(found['B'])} in B/"
                    reason = f"ambiguous: {counts} share its name without the extension"
                left_over.append((f"{side}/{name}", reason))
    return pairs, sorted(left_over)


def _rows(images: Tensor, keep: list[int], spill: Path) -> Tensor:
    """The kept rows; a large set's go through a file (``shards.gather``), not memory."""
    if keep == list(range(len(images))):
        return images
    return shards.gather(images, torch.tensor(keep, dtype=torch.int64), spill)


def _prefixed(prefix: str, items: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(prefix + name, reason) for name, reason in items]
