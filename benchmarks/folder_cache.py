"""Folder decode cache: first load (decode every image) vs. the next load (cached tensor).

    .venv/bin/python benchmarks/folder_cache.py [--images 500] [--size 512x384] [--resolution 64]
        [--format jpg|png] [--repeats 9]

Writes synthetic images into a temporary folder, then times both loads in one run and prints
the ratio. The cached load verifies the cache's checksum; it is also timed with an unverified
read of the same file (what a cache hit cost before checksums), interleaved in the same run,
and the verified / unverified ratio is printed: the price of the check. Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from PIL import Image
from safetensors import safe_open

from ganzoo.core.data.store import DataRequest
from ganzoo.plugins.datasets import folder
from ganzoo.plugins.datasets.folder import cache
from ganzoo.plugins.datasets.shapes import load as shapes


def unverified_read(path: Path, resolution: int, channels: int):
    """cache.read without the checksum (the mapped tensor is not even touched)."""
    if not path.is_file():
        return None
    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata()
        images = f.get_tensor("images")
    if tuple(images.shape[1:]) != (channels, resolution, resolution):
        return None
    return images, [(str(n), str(r)) for n, r in json.loads(metadata["skipped"])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--size", default="512x384")
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--format", choices=["jpg", "png"], default="jpg")
    parser.add_argument("--repeats", type=int, default=9, help="cached loads of each kind")
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
        start = time.perf_counter()
        store = folder.load(request)
        miss = time.perf_counter() - start
        print(f"{'decode (cache miss)':28s} {miss:8.3f} s  ({store.cache}, {len(store)} images)")

        verified_read = cache.read
        times: dict[str, list[float]] = {"verified": [], "unverified": []}
        for _ in range(args.repeats):
            for label, reader in (("verified", verified_read), ("unverified", unverified_read)):
                cache.read = reader
                try:
                    start = time.perf_counter()
                    hit = folder.load(request)
                    times[label].append(time.perf_counter() - start)
                finally:
                    cache.read = verified_read
                assert hit.cache == "hit", hit.cache
        verified = statistics.median(times["verified"])
        unverified = statistics.median(times["unverified"])
        mb = hit.tensor.numel() / 1e6
        for label, value in (("verified", verified), ("unverified", unverified)):
            name = f"cached (hit, {label})"
            print(f"{name:28s} {value * 1e3:8.1f} ms (median of {args.repeats})")
        print(
            f"speed-up: {miss / verified:.1f}x  ({args.images} {args.format} files "
            f"{width}x{height} -> {args.resolution}px); verified / unverified cached load: "
            f"{verified / unverified:.2f}x ({mb:.1f} MB checked)"
        )


if __name__ == "__main__":
    main()
