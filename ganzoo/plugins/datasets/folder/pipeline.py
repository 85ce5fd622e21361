"""The steps every image-folder source shares (``folder:``, ``paired:``, ``unpaired:``):
checking the request, finding the folder, and decoding a list of its files through the
decode cache.

The sources differ only in which files they hand over and how they read the result; the
hardening (regular files only, the pixel and memory budgets, Ctrl-C, the verified cache)
lives in the modules this one calls, once for all of them. A new decode goes straight into
its cache file, a shard at a time (``shards``), and comes back mapped from it like a cache
hit (one shard or less: from memory): a folder larger than memory loads, and what it needs
is room on the cache's disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torch import Tensor

from ganzoo.core.data.store import DataRequest
from ganzoo.core.errors import ConfigError, DataError
from ganzoo.core.paths import CACHE_ENV, cache_dir

# Modules, not their functions: benchmarks/folder_cache.py swaps ``cache.read`` on its module.
from ganzoo.plugins.datasets.folder import cache, decode, pixels, reasons, scan, shards
from ganzoo.plugins.datasets.folder.cache import FileStamp
from ganzoo.plugins.datasets.folder.names import printable


@dataclass
class Decoded:
    """What decoding a list of files gave.

    ``images`` is ``(N, C, R, R)``, or ``(2, N, C, R, R)`` for the ``halves`` layout (every
    left half, then every right half); None when no file could be read. ``names`` are the
    files kept, in the order of the images; ``undecodable`` the others, with their reasons.
    """

    images: Tensor | None
    names: list[str]
    undecodable: list[tuple[str, str]]
    hit: bool


def check_image_request(request: DataRequest, dataset: str, usage: str) -> int:
    """Check what every image source needs of a request; the pixel budget it carries.

    ``usage`` is how the spec is written, shown when the argument is missing
    (``folder:PATH``, say).
    """
    if not request.argument:
        raise DataError(f"dataset {dataset!r} needs a path: {usage}")
    if request.channels not in (1, 3):
        raise ConfigError(f"image datasets have 1 or 3 channels; got {request.channels}")
    if request.resolution < 1:
        raise ConfigError(f"the resolution must be at least 1; got {request.resolution}")
    return pixels.pixel_limit(request)


def existing_folder(argument: str | Path, what: str = "dataset") -> Path:
    """``argument`` as an absolute folder path; DataError if it is missing or a file.
    ``what`` names it in the error: ``dataset folder X does not exist``."""
    root = Path(argument).expanduser()
    if not root.exists():
        raise DataError(f"{what} folder {printable(str(root))} does not exist")
    if not root.is_dir():
        raise DataError(f"{what} path {printable(str(root))} is not a folder")
    return root.resolve()


def scan_images(root: Path, where: str) -> tuple[list[FileStamp], list[tuple[str, str]]]:
    """The image files under ``root`` and the special files the scan left out (see
    scan.scan); DataError if there is no candidate. ``where`` names the folder in it."""
    not_files: list[tuple[str, str]] = []
    files = scan.scan(root, not_files)
    if not files:
        if not_files:
            raise DataError(f"no readable image in {where}; {reasons.skip_summary(not_files)}")
        raise DataError(f"no image files ({', '.join(scan.EXTENSIONS)}) in {where}")
    return files, not_files


def decode_cached(
    root: Path, files: list[FileStamp], request: DataRequest, layout: str = "whole"
) -> Decoded:
    """Decode ``files`` (from ``scan.scan(root)``, in sorted order) at the request's size,
    or load them from the cache. ``layout`` is ``"whole"`` (one picture a file) or
    ``"halves"`` (A|B side by side); it is part of the cache key, so the same files decoded
    both ways never share a cache file."""
    max_pixels = pixels.pixel_limit(request)
    halves = layout == "halves"
    files = sorted(files)  # the key sorts them too: one set of files, one order of images
    shown = printable(str(root))
    names = [name for name, _, _ in files]
    key = cache.cache_key(root, request.resolution, request.channels, files, max_pixels, layout)
    directory = request.cache_dir if request.cache_dir is not None else cache_dir("datasets")
    cache_path = cache.cache_file(Path(directory), key)
    try:
        if halves:
            cached = cache.read(cache_path, request.resolution, request.channels, parts=2)
        else:
            cached = cache.read(cache_path, request.resolution, request.channels)
        if cached is not None:
            images, undecodable = cached
            kept = _kept(names, undecodable)
            count = images.shape[1] if halves else len(images)
            if kept is None or len(kept) != count:
                raise cache.CacheCorrupt(f"holds {count} images for another list of files")
    except cache.CacheCorrupt as exc:
        request.report(
            f"the dataset cache {printable(str(cache_path))} was corrupt ({exc}); decoding again"
        )
        cached = None
    if cached is not None:
        request.report(f"using cached decode of {shown} ({len(kept)} images)")
        return Decoded(images, kept, undecodable, hit=True)

    images, undecodable = _decode_to_cache(root, names, request, halves, cache_path)
    kept = _kept(names, undecodable) or []
    return Decoded(images, kept, undecodable, hit=False)


def _decode_to_cache(
    root: Path, names: list[str], request: DataRequest, halves: bool, path: Path
) -> tuple[Tensor | None, list[tuple[str, str]]]:
    """Decode ``names`` straight into a new cache file at ``path``; the images, mapped from
    it (or the one shard, still in memory). Into memory instead when the cache folder cannot
    be written (a read-only disk costs a re-decode next time, not this run); DataError when
    the cache would not fit its disk, or cannot be written to the end."""
    shown_path = printable(str(path))
    row = (request.channels, request.resolution, request.resolution)
    try:
        writer = shards.Writer(path, (2, *row) if halves else row, len(names), root)
    except shards.NoRoom as exc:
        raise DataError(
            f"the decode cache of {printable(str(root))} needs up to {_size(exc.needed)} but "
            f"{printable(str(path.parent))} has {_size(exc.free)} free; free some space or "
            f"set {CACHE_ENV} to a folder on a larger disk"
        ) from None
    except OSError as exc:
        request.report(f"could not write the dataset cache {shown_path}: {exc}")
        return decode.decode_all(root, names, request, halves=halves)
    try:
        with writer:
            _, undecodable = decode.decode_all(root, names, request, halves, writer.add)
            if writer.rows == 0:
                return None, undecodable
            # Only decode failures are cached: what the scan skips is found afresh each time.
            images = writer.finish(undecodable)
    except OSError as exc:
        reason = printable(str(exc))
        raise DataError(f"could not write the dataset cache {shown_path}: {reason}") from None
    return (images.transpose(0, 1) if halves else images), undecodable


def _size(count: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if count >= 1 << shift:
            return f"{count / (1 << shift):.1f} {unit}"
    return f"{count} bytes"


def _kept(names: list[str], undecodable: list[tuple[str, str]]) -> list[str] | None:
    """``names`` less the undecodable ones, in order; None if those are not all in it."""
    dropped = {name for name, _ in undecodable}
    if len(dropped) != len(undecodable) or not dropped <= set(names):
        return None
    return [name for name in names if name not in dropped]
