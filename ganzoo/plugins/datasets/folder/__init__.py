"""``folder:PATH``: every image under a folder, decoded once into a cached uint8 tensor.

Flat folders and nested class folders both work (plain ImageFolder rejects a flat one).
When every image lies in a subfolder, the subfolders are its classes: the store gets
``labels`` (the index of each image's first path component among the sorted class names)
and ``classes``. One unreadable file never stops a run: it is skipped, counted and listed.

The folder is untrusted input. Only regular files are opened (a FIFO named ``x.png`` would
otherwise block forever), each is checked against a pixel budget before it is decoded, the
decoding threads share a memory budget, and Ctrl-C stops a scan or a decode at once.

The steps, one module each: ``scan`` finds the files, ``cache`` holds earlier decodes
(mapped, not read, so a folder larger than memory trains), ``decode`` (with ``opening``,
``pixels``, ``budget`` and ``resize``) makes new ones, which ``shards`` writes to the cache as
they come, and ``reasons`` words what was skipped; ``pipeline`` strings them together for
every image source (``paired:`` and ``unpaired:`` too). This module adds the class labels.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ganzoo.core.data.store import DataRequest, DataStore
from ganzoo.core.errors import DataError

# Modules, not their functions: a ``scan`` function bound here would hide the ``scan``
# module (``folder.scan``), and benchmarks/folder_cache.py swaps ``cache.read`` on its module.
from ganzoo.plugins.datasets.folder import cache, decode, pipeline, reasons, scan
from ganzoo.plugins.datasets.folder.cache import FileStamp
from ganzoo.plugins.datasets.folder.names import printable

__all__ = ["cache", "class_labels", "decode", "load", "scan"]

NOT_IN_A_CLASS = "not in a class subfolder"


def load(request: DataRequest) -> DataStore:
    pipeline.check_image_request(request, "folder", "folder:PATH")
    root = pipeline.existing_folder(request.argument)
    shown = printable(str(root))

    files, not_files = pipeline.scan_images(root, shown)
    left_out: list[tuple[str, str]] = []
    if "label" in request.needs:
        files, left_out = _class_files(files, shown, request)

    decoded = pipeline.decode_cached(root, files, request)
    unreadable = sorted(not_files + decoded.undecodable)
    if decoded.images is None:
        raise DataError(f"no readable image in {shown}; {reasons.skip_summary(unreadable)}")
    if unreadable and not decoded.hit:
        request.report(reasons.skip_summary(unreadable))
    images = decoded.images
    labels, classes = class_labels(decoded.names)
    description = f"{len(images)} images from {shown}"
    if classes is not None:
        description += f" in {len(classes)} {'class' if len(classes) == 1 else 'classes'}"
        if len(classes) == 1 and "label" in request.needs:
            request.report(f"{shown} has one class ({classes[0]}): every image has the same label")
    return DataStore(
        kind="image",
        tensor=images,
        labels=labels,
        classes=classes,
        description=description,
        skipped=sorted(unreadable + left_out),
        cache="hit" if decoded.hit else "miss",
    )


def class_labels(names: list[str]) -> tuple[Tensor | None, tuple[str, ...] | None]:
    """Labels and class names of image files (relative paths, ``/``-separated): each
    image's class is its first path component; the classes are the sorted distinct ones,
    escaped for display (names.printable, which keeps distinct names distinct). None, None
    when any image lies at the top level: such a folder has no classes."""
    if not names or any("/" not in name for name in names):
        return None, None
    firsts = [name.split("/", 1)[0] for name in names]
    raw = sorted(set(firsts))
    index = {name: position for position, name in enumerate(raw)}
    labels = torch.tensor([index[first] for first in firsts], dtype=torch.int64)
    return labels, tuple(printable(name) for name in raw)


def _class_files(
    files: list[FileStamp], shown: str, request: DataRequest
) -> tuple[list[FileStamp], list[tuple[str, str]]]:
    """The files in class subfolders, and those left out (lying directly in the folder);
    DataError, before anything is decoded, if there is no class subfolder."""
    classed = [stamp for stamp in files if "/" in stamp[0]]
    if not classed:
        raise DataError(
            f"model needs class labels, but folder {shown} has no class subfolders "
            f"(put each class's images in its own subfolder: {shown}/CLASS/*.png)"
        )
    loose = [(name, NOT_IN_A_CLASS) for name, _, _ in files if "/" not in name]
    if loose:
        noun = "image" if len(loose) == 1 else "images"
        request.report(
            f"left out {len(loose)} {noun} lying directly in {shown}, outside the class "
            "subfolders (class labels come from the subfolder each image is in)"
        )
    return classed, loose
