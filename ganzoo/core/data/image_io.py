"""Reading and writing single pictures the user names (``translate``, ``restore``).

A named file is still untrusted: only a regular file is opened (without blocking, so a
FIFO cannot hang ganzoo), only the six supported formats are identified, and its pixel
count is checked from the header before it is decoded.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch import Tensor

from ganzoo.core.errors import DataError
from ganzoo.core.limits import DEFAULT_MAX_IMAGE_PIXELS

FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF")
EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff")
_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


def read_image(path: Path, channels: int, max_pixels: int | None = None) -> Image.Image:
    """The picture at ``path`` upright (EXIF orientation applied), as RGB or L."""
    limit = DEFAULT_MAX_IMAGE_PIXELS if max_pixels is None else max_pixels
    shown = repr(str(path))[1:-1]
    try:
        fd = os.open(path, _FLAGS)
    except OSError as exc:
        raise DataError(f"cannot open {shown}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise DataError(f"{shown} is not a regular file")
        try:
            with Image.open(handle, formats=FORMATS) as image:
                width, height = image.size
                if width * height > limit:
                    raise DataError(
                        f"{shown} has {width}x{height} pixels, more than the {limit:,} allowed "
                        "(--max-image-pixels raises it)"
                    )
                upright = ImageOps.exif_transpose(image)
                return upright.convert("RGB" if channels == 3 else "L")
        except DataError:
            raise
        except UnidentifiedImageError:
            raise DataError(f"{shown} is not a PNG, JPEG, WebP, BMP, GIF or TIFF picture") from None
        except (Image.DecompressionBombError, OSError, ValueError,
                SyntaxError) as exc:  # fmt: skip
            reason = " ".join(str(exc).split())[:120] or type(exc).__name__
            raise DataError(f"cannot read {shown} as an image: {reason}") from None


def to_model_space(image: Image.Image) -> Tensor:
    """A PIL image -> (1, C, H, W) float in [-1, 1]."""
    array = np.asarray(image, dtype=np.uint8)
    if array.ndim == 2:
        array = array[:, :, None]
    tensor = torch.from_numpy(array.copy()).permute(2, 0, 1).unsqueeze(0)
    return tensor.float().div(127.5).sub(1.0)


def to_image(tensor: Tensor) -> Image.Image:
    """(C, H, W) in [-1, 1] -> a PIL image."""
    array = tensor.clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)
    array = array.permute(1, 2, 0).cpu().numpy()
    if array.shape[2] == 1:
        return Image.fromarray(array[:, :, 0])
    return Image.fromarray(array)


def write_image(image: Image.Image, path: Path) -> None:
    """Saved in the format its extension names, written whole or not at all."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fmt = Image.registered_extensions().get(path.suffix.lower())
        image.save(tmp, format=fmt)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
