"""Folder decode cache: first load (decode every image) vs. the next load (cached tensor).

    .venv/bin/python benchmarks/folder_cache.py [--images 500] [--size 512x384] [--resolution 64]
        [--format jpg|png]

Writes synthetic images into a temporary folder, then times both loads in one run and prints
the ratio. Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from PIL import Image

from ganzoo.core.data import DataRequest
from ganzoo.plugins.datasets import folder
from ganzoo.plugins.datasets.shapes import load as shapes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--size", default="512x384")
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--format", choices=["jpg", "png"], default="jpg")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "art"
        root.mkdir()
        side = max(width, height)
        source = shapes(DataRequest(None, side, 3, seed=1, size=args.images)).tensor
        for index, image in enumerate(source):
            pixels = image.permute(1, 2, 0).numpy()
            Image.fromarray(pixels).crop((0, 0, width, height)).save(
                root / f"{index:05d}.{args.format}", quality=90
            )
        request = DataRequest(str(root), args.resolution, 3, cache_dir=Path(tmp) / "cache")
        timings = {}
        for label in ("decode (cache miss)", "cached (cache hit)"):
            start = time.perf_counter()
            store = folder.load(request)
            timings[label] = time.perf_counter() - start
            print(f"{label:20s} {timings[label]:8.3f} s  ({store.cache}, {len(store)} images)")
        miss, hit = timings.values()
        print(
            f"speed-up: {miss / hit:.1f}x  ({args.images} {args.format} files {width}x{height} -> "
            f"{args.resolution}px)"
        )


if __name__ == "__main__":
    main()
