"""Image-to-image use of a checkpoint: translate (pix2pix, CycleGAN) and restore (inpainting).

Any size of picture goes in. It is resized as a whole to the model's R x R (no crop, so
nothing is lost at the edges), run through the network, and the result resized back to the
picture's own size. ``restore`` keeps every pixel outside the mask exactly as it was: only
the masked pixels come from the network.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import Tensor, nn

from ganzoo.core.data.image_io import EXTENSIONS, read_image, to_image, to_model_space, write_image
from ganzoo.core.errors import ConfigError, DataError
from ganzoo.core.inference.pictures import to_pictures

_USES = {
    "noise": "generates images from noise: use ganzoo sample",
    "class": "generates images of a class: use ganzoo sample --class",
    "translate": "translates images: use ganzoo translate",
    "restore": "restores images: use ganzoo restore",
}


def wrong_use(path: str, model: Any, wanted: str) -> ConfigError:
    name = model.checkpoint.get("model", "?") if hasattr(model, "checkpoint") else "?"
    return ConfigError(f"{path} holds a {name} model, which {_USES[model.use]}, not {wanted}")


def _device(network: nn.Module) -> torch.device:
    return next((p.device for p in network.parameters()), torch.device("cpu"))


class Translator:
    """``translate(images, direction)``: (N, C, R, R) in [-1, 1] -> the same, translated."""

    def __init__(self, model: nn.Module, translators: dict[str, str], metadata: dict) -> None:
        self.model, self.translators, self.checkpoint = model, dict(translators), metadata
        self.use = "translate"
        shape = model.config["data_shape"]
        self.channels, self.resolution = shape[0], shape[1]
        trained = metadata.get("train_config", "{}")
        self.trained_direction = "AtoB"
        if isinstance(trained, str) and '"direction": "BtoA"' in trained:
            self.trained_direction = "BtoA"

    @property
    def directions(self) -> tuple[str, ...]:
        if "" in self.translators:
            return (self.trained_direction,)
        return tuple(self.translators)

    def network(self, direction: str | None) -> nn.Module:
        if "" in self.translators:
            if direction not in (None, self.trained_direction):
                raise ConfigError(
                    f"this model was trained {self.trained_direction} and translates only that "
                    f"way; got --direction {direction}"
                )
            return self.model.network(self.translators[""])
        direction = direction or "AtoB"
        if direction not in self.translators:
            raise ConfigError(
                f"--direction must be one of {', '.join(self.translators)}; got {direction}"
            )
        return self.model.network(self.translators[direction])

    @torch.no_grad()
    def translate(self, images: Tensor, direction: str | None = None) -> Tensor:
        network = self.network(direction)
        return network(images.to(_device(network))).float().cpu()

    def translate_image(self, image: Image.Image, direction: str | None = None) -> Image.Image:
        return self.translate_images([image], direction)[0]

    def translate_images(self, images: list[Image.Image], direction=None) -> list[Image.Image]:
        return self.translate_shrunk([self.shrink(image) for image in images], direction)

    def shrink(self, image: Image.Image) -> tuple[Tensor, tuple[int, int]]:
        """A picture -> its uint8 (C, R, R) pixels at the model's resolution, and its own size:
        all that its translation needs, so a batch never holds the decoded pictures."""
        size = (self.resolution, self.resolution)
        array = np.asarray(image.resize(size, Image.Resampling.LANCZOS), dtype=np.uint8)
        if array.ndim == 2:
            array = array[:, :, None]
        return torch.from_numpy(array.copy()).permute(2, 0, 1), image.size

    @torch.no_grad()
    def translate_shrunk(
        self, items: list[tuple[Tensor, tuple[int, int]]], direction: str | None = None
    ) -> list[Image.Image]:
        """``shrink``'s results -> the translated pictures, each at its own size: uint8 goes
        to the device and comes back, the scaling to [-1, 1] and back happens there."""
        network = self.network(direction)
        batch = torch.stack([pixels for pixels, _ in items]).to(_device(network))
        out = network(batch.float().div(127.5).sub(1.0)).float()
        pictures = to_pictures(out)
        return [p.resize(size, Image.Resampling.BICUBIC) for p, (_, size) in zip(pictures, items)]


class Restorer:
    """``restore(images, masks)``: (N, C, R, R) in [-1, 1] and (N, 1, R, R) with 1 where
    pixels are missing -> the images with the missing pixels filled."""

    def __init__(self, model: nn.Module, metadata: dict) -> None:
        self.model, self.checkpoint, self.use = model, metadata, "restore"
        shape = model.config["data_shape"]
        self.channels, self.resolution = shape[0], shape[1]

    @torch.no_grad()
    def restore(self, images: Tensor, masks: Tensor) -> Tensor:
        generator = self.model.network("generator")
        device = _device(generator)
        masks = (masks > 0.5).float()
        out = generator(images.to(device), masks.to(device)).float().cpu()
        return images * (1 - masks) + out * masks

    def restore_image(self, image: Image.Image, mask: Image.Image) -> Image.Image:
        return self.restore_images([image], [mask])[0]

    def restore_images(
        self, images: list[Image.Image], masks: list[Image.Image]
    ) -> list[Image.Image]:
        """Outside each mask the picture is kept pixel for pixel; inside, the model's fill
        (made at R x R, in one batch for all pictures) is resized to the picture's size.
        A mask of another size than its picture is stretched to it (nearest neighbour)."""
        size = (self.resolution, self.resolution)
        holes = [m.convert("L").resize(im.size, Image.Resampling.NEAREST)
                 for im, m in zip(images, masks)]  # fmt: skip
        small = torch.cat([to_model_space(im.resize(size, Image.Resampling.LANCZOS))
                           for im in images])  # fmt: skip
        small_masks = torch.cat([to_model_space(h.resize(size, Image.Resampling.BILINEAR))
                                 for h in holes]).add(1).div(2)  # fmt: skip
        small_masks = (small_masks > 0.02).float()  # any touched pixel counts as missing
        filled = self.restore(small, small_masks)
        out = []
        for image, hole, result in zip(images, holes, filled):
            big = to_image(result).resize(image.size, Image.Resampling.BICUBIC)
            out.append(Image.composite(big, image, hole.point(lambda v: 255 if v > 127 else 0)))
        return out


def image_files(folder: Path) -> list[Path]:
    """The pictures under ``folder`` (hidden files and linked folders left out), sorted."""
    found = []
    for root, _dirs, files in _walk(folder):
        found += [root / f for f in files if Path(f).suffix.lower() in EXTENSIONS]
    return sorted(found)


def _walk(folder: Path) -> Iterator[tuple[Path, list[str], list[str]]]:
    import os

    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        yield Path(root), dirs, [f for f in files if not f.startswith(".")]


def _destinations(source: Path, output: Path) -> list[tuple[Path, Path]]:
    """(picture in, picture out) for a picture, or for every picture of a folder (the output
    folder mirrors its names)."""
    if source.is_dir():
        if output.exists() and not output.is_dir():
            raise ConfigError(f"{output} exists and is not a folder")
        files = image_files(source)
        if not files:
            raise DataError(f"no pictures ({', '.join(EXTENSIONS)}) in {source}")
        return [(f, output / f.relative_to(source)) for f in files]
    if output.suffix.lower() not in EXTENSIONS:
        raise ConfigError(f"-o {output}: name a picture file ({', '.join(EXTENSIONS)})")
    if not output.parent.is_dir():
        raise ConfigError(f"output folder {output.parent} does not exist")
    return [(source, output)]


def _convert_batches(
    jobs: list[tuple[Path, Path]],
    read: Callable[[Path], Any],
    run: Callable[[list[Any]], list[Image.Image]],
    batch_size: int,
    single: bool,
    progress: Callable[[int, int], None],
    report: Callable[[str], None],
) -> tuple[int, int]:
    """Read, run in batches on the device, write: (done, skipped). An unreadable input is
    fatal for a single picture, skipped and reported in a folder."""
    done = skipped = 0
    for start in range(0, len(jobs), batch_size):
        items, outputs = [], []
        for src, dst in jobs[start : start + batch_size]:
            try:
                items.append(read(src))
                outputs.append(dst)
            except DataError as exc:
                if single:
                    raise
                skipped += 1
                report(f"skipped: {exc}")
        if items:
            for dst, result in zip(outputs, run(items)):
                dst.parent.mkdir(parents=True, exist_ok=True)
                write_image(result, dst)
            done += len(items)
        progress(min(start + batch_size, len(jobs)), len(jobs))
    return done, skipped


def translate_paths(
    translator: Translator,
    source: Path,
    output: Path,
    direction: str | None,
    batch_size: int,
    max_pixels: int | None,
    progress: Callable[[int, int], None],
    report: Callable[[str], None],
) -> tuple[int, int]:
    """A picture -> a picture, or a folder -> a folder of the same names. Returns (done,
    skipped); unreadable pictures in a folder are skipped and reported, never fatal."""
    translator.network(direction)  # a wrong direction fails before any file is read
    jobs = _destinations(source, output)
    return _convert_batches(
        jobs,
        # Each picture is decoded and shrunk at once; only its small copy waits for the batch.
        lambda src: translator.shrink(read_image(src, translator.channels, max_pixels)),
        lambda items: translator.translate_shrunk(items, direction),
        batch_size, len(jobs) == 1, progress, report,
    )  # fmt: skip


def _partner(mask_dir: Path, relative: Path) -> Path | None:
    """The mask for the picture at ``relative``: the same path under ``mask_dir``, or the
    same name with any picture extension (``a.jpg`` may have ``a.png`` as its mask)."""
    same = mask_dir / relative
    if same.is_file():
        return same
    for extension in EXTENSIONS:
        other = (mask_dir / relative).with_suffix(extension)
        if other.is_file():
            return other
    return None


def restore_paths(
    restorer: Restorer,
    source: Path,
    mask: Path,
    output: Path,
    batch_size: int,
    max_pixels: int | None,
    progress: Callable[[int, int], None],
    report: Callable[[str], None],
) -> tuple[int, int]:
    """A picture and its mask -> a picture; or a folder with a folder of masks (same
    names) or one mask for all -> a folder of the same names. Returns (done, skipped);
    in a folder, unreadable pictures and pictures without a mask are skipped and reported."""
    if not mask.exists():
        raise ConfigError(f"--mask {mask} does not exist")
    single = not source.is_dir()
    if single and mask.is_dir():
        raise ConfigError(f"--mask {mask} is a folder; a single picture needs a mask picture")
    jobs = _destinations(source, output)
    shared = None if single or mask.is_dir() else read_image(mask, 1, max_pixels)

    def read(src: Path) -> tuple[Image.Image, Image.Image]:
        if single:
            hole_path = mask
        elif shared is None:
            hole_path = _partner(mask, src.relative_to(source))
            if hole_path is None:
                raise DataError(f"no mask for {src.relative_to(source)} in {mask}")
        image = read_image(src, restorer.channels, max_pixels)
        hole = shared if shared is not None else read_image(hole_path, 1, max_pixels)
        if single and hole.size != image.size:
            raise ConfigError(
                f"the mask is {hole.size[0]}x{hole.size[1]}, the picture "
                f"{image.size[0]}x{image.size[1]}; they must be the same size"
            )
        return image, hole

    def run(pairs: list[tuple[Image.Image, Image.Image]]) -> list[Image.Image]:
        return restorer.restore_images([p for p, _ in pairs], [h for _, h in pairs])

    return _convert_batches(jobs, read, run, batch_size, single, progress, report)
