"""``folder:PATH``: every image under a folder, decoded once into a cached uint8 tensor.

Flat folders and nested class folders both work (plain ImageFolder rejects a flat one).
One unreadable file never stops a run: it is skipped, counted and listed.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch import Tensor
from torchvision.transforms.v2 import functional as TF

from ganzoo.core.data import DataRequest, DataStore
from ganzoo.core.errors import ConfigError, DataError
from ganzoo.core.paths import cache_dir
from ganzoo.plugins.datasets import cache

EXTENSIONS = ("jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff")
_SUFFIXES = frozenset(f".{ext}" for ext in EXTENSIONS)
_SIXTEEN_BIT = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I"})
_LISTED_SKIPS = 5
_PROGRESS_EVERY = 2000
_ANNOUNCE_FROM = 200  # smaller folders decode in a blink: no message needed


def load(request: DataRequest) -> DataStore:
    if not request.argument:
        raise DataError("dataset 'folder' needs a path: folder:PATH")
    if request.channels not in (1, 3):
        raise ConfigError(f"image datasets have 1 or 3 channels; got {request.channels}")
    if request.resolution < 1:
        raise ConfigError(f"the resolution must be at least 1; got {request.resolution}")
    root = Path(request.argument).expanduser()
    if not root.exists():
        raise DataError(f"dataset folder {root} does not exist")
    if not root.is_dir():
        raise DataError(f"dataset path {root} is not a folder")
    root = root.resolve()

    files = scan(root)
    if not files:
        raise DataError(f"no image files ({', '.join(EXTENSIONS)}) in {root}")

    key = cache.cache_key(root, request.resolution, request.channels, files)
    directory = request.cache_dir if request.cache_dir is not None else cache_dir("datasets")
    cache_path = cache.cache_file(Path(directory), key)
    cached = cache.read(cache_path, request.resolution, request.channels)
    if cached is not None:
        images, skipped = cached
        request.report(f"using cached decode of {root} ({len(images)} images)")
        return _store(images, root, skipped, "hit")

    images, skipped = decode_all(root, [name for name, _, _ in files], request)
    if images is None:
        raise DataError(f"no readable image in {root}; {skip_summary(skipped)}")
    if skipped:
        request.report(skip_summary(skipped))
    try:
        cache.write(cache_path, images, skipped, root)
    except OSError as exc:
        # A read-only or full cache disk costs a re-decode next time, not this run.
        request.report(f"could not write the dataset cache {cache_path}: {exc}")
    return _store(images, root, skipped, "miss")


def _store(images: Tensor, root: Path, skipped: list[tuple[str, str]], hit: str) -> DataStore:
    return DataStore(
        kind="image",
        tensor=images,
        description=f"{len(images)} images from {root}",
        skipped=skipped,
        cache=hit,
    )


def scan(root: Path) -> list[cache.FileStamp]:
    """Sorted (relative POSIX path, size, mtime_ns) of the image files; hidden ones left out."""
    found: list[cache.FileStamp] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for filename in filenames:
            if filename.startswith(".") or Path(filename).suffix.lower() not in _SUFFIXES:
                continue
            path = Path(dirpath, filename)
            try:
                stat = path.stat()
                stamp = (stat.st_size, stat.st_mtime_ns)
            except OSError:
                stamp = (-1, -1)  # a broken link: listed so that decoding reports it
            found.append((path.relative_to(root).as_posix(), *stamp))
    found.sort()
    return found


def decode_all(
    root: Path, names: list[str], request: DataRequest
) -> tuple[Tensor | None, list[tuple[str, str]]]:
    """Decode ``names`` in order into one ``(N, C, R, R)`` tensor; None if none is readable."""
    size = request.resolution
    out = torch.empty((len(names), request.channels, size, size), dtype=torch.uint8)
    skipped: list[tuple[str, str]] = []
    count = 0
    if len(names) >= _ANNOUNCE_FROM:
        request.report(f"decoding {len(names)} image files from {root}")

    def task(name: str) -> Tensor | str:
        try:
            return decode_image(root / name, size, request.channels)
        except Exception as exc:  # any decoder failure means "skip this file"
            return short_reason(exc)

    workers = max(1, min(4, os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        # map() yields in submission order, so the tensor order is the sorted file order.
        for done, (name, result) in enumerate(zip(names, pool.map(task, names)), start=1):
            if isinstance(result, str):
                skipped.append((name, result))
            else:
                out[count] = result
                count += 1
            if done % _PROGRESS_EVERY == 0 and done < len(names):
                request.report(f"decoded {done}/{len(names)} files")
    if count == 0:
        return None, skipped
    return (out if count == len(names) else out[:count].clone()), skipped


def decode_image(path: Path, resolution: int, channels: int) -> Tensor:
    """One file -> ``(channels, R, R)`` uint8: shorter side resized to R, then centre-cropped."""
    with Image.open(path) as image:
        if image.format == "JPEG":
            # Let libjpeg downscale by 1/2, 1/4 or 1/8 while decoding; never below the target.
            image.draft(None, (resolution, resolution))
        image.load()  # GIF and multi-page TIFF open on their first frame
        ImageOps.exif_transpose(image, in_place=True)
        pixels = to_array(image, channels)
    tensor = torch.from_numpy(pixels)
    tensor = tensor.unsqueeze(0) if tensor.ndim == 2 else tensor.permute(2, 0, 1)
    tensor = TF.resize(tensor, [resolution], antialias=True)
    return TF.center_crop(tensor, [resolution, resolution])


def to_array(image: Image.Image, channels: int) -> np.ndarray:
    """An ``(H, W, 3)`` or ``(H, W)`` uint8 array from any PIL mode."""
    if image.mode in _SIXTEEN_BIT:
        # PIL's convert("L") clips 16-bit values at 255; rescale the full range instead.
        wide = np.asarray(image).astype(np.float32)
        gray = Image.fromarray(np.clip(np.rint(wide / 257.0), 0, 255).astype(np.uint8), "L")
        image = gray
    elif image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba).convert("RGB")
    target = "RGB" if channels == 3 else "L"
    if image.mode != target:
        image = image.convert(target)
    return np.array(image)  # a writable copy: torch.from_numpy warns on read-only arrays


def short_reason(exc: BaseException) -> str:
    if isinstance(exc, UnidentifiedImageError):
        return "cannot identify image file"
    if isinstance(exc, Image.DecompressionBombError):
        return "too many pixels (decompression bomb limit)"
    # strerror leaves out the path, which the skipped list already names.
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    text = text.strip() or type(exc).__name__
    return text if len(text) <= 80 else text[:77] + "..."


def skip_summary(skipped: list[tuple[str, str]]) -> str:
    listed = ", ".join(f"{name} ({reason})" for name, reason in skipped[:_LISTED_SKIPS])
    more = len(skipped) - _LISTED_SKIPS
    noun = "file" if len(skipped) == 1 else "files"
    tail = f", and {more} more" if more > 0 else ""
    return f"skipped {len(skipped)} unreadable {noun}: {listed}{tail}"
