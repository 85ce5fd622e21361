"""``folder:PATH``: every image under a folder, decoded once into a cached uint8 tensor.

Flat folders and nested class folders both work (plain ImageFolder rejects a flat one).
One unreadable file never stops a run: it is skipped, counted and listed.

The folder is untrusted input. Only regular files are opened (a FIFO named ``x.png`` would
otherwise block forever), each is checked against a pixel budget before it is decoded, the
decoding threads share a memory budget, and Ctrl-C stops a scan or a decode at once.

The steps, one module each: ``scan`` finds the files, ``cache`` holds earlier decodes,
``decode`` (with ``opening``, ``pixels``, ``budget`` and ``resize``) makes new ones, and
``reasons`` words what was skipped. This module only strings them together.
"""

from __future__ import annotations

from pathlib import Path

from torch import Tensor

from ganzoo.core.data import DataRequest, DataStore
from ganzoo.core.errors import ConfigError, DataError
from ganzoo.core.paths import cache_dir

# Modules, not their functions: a ``scan`` function bound here would hide the ``scan``
# module (``folder.scan``), and benchmarks/folder_cache.py swaps ``cache.read`` on its module.
from ganzoo.plugins.datasets.folder import cache, decode, pixels, reasons, scan
from ganzoo.plugins.datasets.folder.names import printable


def load(request: DataRequest) -> DataStore:
    if not request.argument:
        raise DataError("dataset 'folder' needs a path: folder:PATH")
    if request.channels not in (1, 3):
        raise ConfigError(f"image datasets have 1 or 3 channels; got {request.channels}")
    if request.resolution < 1:
        raise ConfigError(f"the resolution must be at least 1; got {request.resolution}")
    max_pixels = pixels.pixel_limit(request)
    root = Path(request.argument).expanduser()
    if not root.exists():
        raise DataError(f"dataset folder {printable(str(root))} does not exist")
    if not root.is_dir():
        raise DataError(f"dataset path {printable(str(root))} is not a folder")
    root = root.resolve()
    shown = printable(str(root))

    not_files: list[tuple[str, str]] = []
    files = scan.scan(root, not_files)
    if not files:
        if not_files:
            raise DataError(f"no readable image in {shown}; {reasons.skip_summary(not_files)}")
        raise DataError(f"no image files ({', '.join(scan.EXTENSIONS)}) in {shown}")

    key = cache.cache_key(root, request.resolution, request.channels, files, max_pixels)
    directory = request.cache_dir if request.cache_dir is not None else cache_dir("datasets")
    cache_path = cache.cache_file(Path(directory), key)
    try:
        cached = cache.read(cache_path, request.resolution, request.channels)
    except cache.CacheCorrupt as exc:
        request.report(
            f"the dataset cache {printable(str(cache_path))} was corrupt ({exc}); decoding again"
        )
        cached = None
    if cached is not None:
        images, undecodable = cached
        request.report(f"using cached decode of {shown} ({len(images)} images)")
        return _store(images, shown, sorted(not_files + undecodable), "hit")

    images, undecodable = decode.decode_all(root, [name for name, _, _ in files], request)
    skipped = sorted(not_files + undecodable)
    if images is None:
        raise DataError(f"no readable image in {shown}; {reasons.skip_summary(skipped)}")
    if skipped:
        request.report(reasons.skip_summary(skipped))
    try:
        # Only decode failures are cached: what the scan skips is found afresh every time.
        cache.write(cache_path, images, undecodable, root)
    except OSError as exc:
        # A read-only or full cache disk costs a re-decode next time, not this run.
        request.report(f"could not write the dataset cache {printable(str(cache_path))}: {exc}")
    return _store(images, shown, skipped, "miss")


def _store(images: Tensor, shown: str, skipped: list[tuple[str, str]], hit: str) -> DataStore:
    return DataStore(
        kind="image",
        tensor=images,
        description=f"{len(images)} images from {shown}",
        skipped=skipped,
        cache=hit,
    )
