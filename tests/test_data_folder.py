"""folder:PATH: formats, modes, layouts, bad files, centre crop and the decode cache."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open

from ganzoo.core.data.store import DataRequest
from ganzoo.core.errors import DataError
from ganzoo.plugins.datasets import folder
from ganzoo.plugins.datasets.folder import decode, resize
from ganzoo.plugins.datasets.folder.reasons import skip_summary
from ganzoo.plugins.datasets.folder.scan import scan

R = 16


def save(path, image, **kwargs):
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **kwargs)


def load(root, tmp_path, channels=3, resolution=R, **options):
    messages: list[str] = []
    request = DataRequest(
        str(root),
        resolution,
        channels,
        cache_dir=tmp_path / "cache",
        report=messages.append,
        **options,
    )
    return folder.load(request), messages


def truncated_png(path):
    buffer = io.BytesIO()
    Image.new("RGB", (30, 30), (10, 200, 30)).save(buffer, "PNG")
    data = buffer.getvalue()
    path.write_bytes(data[: len(data) // 2])


@pytest.fixture
def zoo(tmp_path):
    """One file per awkward format or mode, each a flat colour with a known expected value."""
    root = tmp_path / "zoo"
    save(root / "rgb.jpg", Image.new("RGB", (24, 24), (200, 30, 30)))
    save(root / "rgba.png", Image.new("RGBA", (20, 20), (0, 0, 0, 0)))
    save(root / "la.png", Image.new("LA", (20, 20), (0, 0)))
    palette = Image.new("P", (20, 20), 1)
    palette.putpalette([0, 0, 255, 0, 255, 0] + [0] * 762)
    save(root / "palette.gif", palette)
    save(root / "palette_clear.gif", palette, transparency=1)
    save(root / "cmyk.jpg", Image.new("CMYK", (20, 20), (0, 255, 255, 0)))
    save(root / "gray16_full.png", Image.fromarray(np.full((20, 20), 65535, np.uint16)))
    save(root / "gray16_half.png", Image.fromarray(np.full((20, 20), 32768, np.uint16)))
    save(root / "gray.bmp", Image.new("L", (20, 20), 77))
    save(root / "image.webp", Image.new("RGB", (20, 20), (20, 40, 220)), lossless=True)
    save(root / "wide.PNG", Image.new("RGB", (40, 20), (5, 250, 5)))
    save(root / "scan.tiff", Image.new("RGB", (20, 30), (90, 90, 90)))
    return root


def pixel(store, name, root):
    names = [stamp[0] for stamp in scan(root)]
    return store.tensor[names.index(name)].float().mean(dim=(1, 2)).tolist()


def test_every_format_and_mode_becomes_rgb(zoo, tmp_path):
    store, _ = load(zoo, tmp_path)
    assert store.kind == "image" and store.tensor.dtype == torch.uint8
    assert store.tensor.shape == (12, 3, R, R) and not store.skipped

    def close(name, expected, tolerance=6):
        got = pixel(store, name, zoo)
        assert max(abs(g - e) for g, e in zip(got, expected)) <= tolerance, (name, got)

    close("rgba.png", (255, 255, 255), 0)  # transparency composited over white
    close("la.png", (255, 255, 255), 0)
    close("palette.gif", (0, 255, 0), 0)
    close("palette_clear.gif", (255, 255, 255), 0)
    close("cmyk.jpg", (255, 0, 0), 12)
    close("gray16_full.png", (255, 255, 255), 0)  # not clipped: 16-bit range scaled to 8
    close("gray16_half.png", (128, 128, 128), 0)
    close("gray.bmp", (77, 77, 77), 0)
    close("image.webp", (20, 40, 220), 0)
    close("wide.PNG", (5, 250, 5), 0)
    close("rgb.jpg", (200, 30, 30))


def test_single_channel(zoo, tmp_path):
    store, _ = load(zoo, tmp_path, channels=1)
    assert store.tensor.shape == (12, 1, R, R)
    assert pixel(store, "gray16_half.png", zoo) == [128.0]
    assert pixel(store, "rgba.png", zoo) == [255.0]


def test_centre_crop_keeps_the_middle(tmp_path):
    wide = np.zeros((20, 60, 3), np.uint8)
    wide[:, :20] = (255, 0, 0)
    wide[:, 20:40] = (0, 255, 0)
    wide[:, 40:] = (0, 0, 255)
    save(tmp_path / "img" / "wide.png", Image.fromarray(wide))
    save(tmp_path / "img" / "tall.png", Image.fromarray(wide.transpose(1, 0, 2).copy()))
    store, _ = load(tmp_path / "img", tmp_path, resolution=8)
    for image in store.tensor:
        centre = image[:, 2:6, 2:6].float()
        assert centre[1].min() > 200 and centre[0].max() < 40 and centre[2].max() < 40
        assert image[1].float().mean() > 180


def test_exif_orientation_is_applied(tmp_path):
    halves = np.zeros((10, 20, 3), np.uint8)
    halves[:, :10] = (255, 0, 0)
    halves[:, 10:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: display rotated 90° clockwise
    save(tmp_path / "img" / "photo.jpg", Image.fromarray(halves), exif=exif, quality=95)
    image = load(tmp_path / "img", tmp_path, resolution=10)[0].tensor[0].float()
    top, bottom = image[:, :4].mean(dim=(1, 2)), image[:, 6:].mean(dim=(1, 2))
    assert (top - bottom).abs().max() > 150  # the colour split now runs across, not down


def test_nested_and_flat_layouts(tmp_path):
    colour = Image.new("RGB", (20, 20), (1, 2, 3))
    for name in ("cats/a.png", "dogs/deep/b.jpg", ".hidden/c.png", "cats/.d.png"):
        save(tmp_path / "nested" / name, colour)
    (tmp_path / "nested" / "notes.txt").write_text("not an image")
    save(tmp_path / "flat" / "a.png", colour)
    save(tmp_path / "flat" / "b.png", colour)
    assert [s[0] for s in scan(tmp_path / "nested")] == ["cats/a.png", "dogs/deep/b.jpg"]
    assert len(load(tmp_path / "nested", tmp_path)[0]) == 2
    assert len(load(tmp_path / "flat", tmp_path)[0]) == 2


def test_bad_files_are_skipped_listed_and_reported(tmp_path):
    root = tmp_path / "img"
    save(root / "good.png", Image.new("RGB", (20, 20), (9, 9, 9)))
    (root / "bad.jpg").write_bytes(os.urandom(300))
    truncated_png(root / "cut.png")
    save(root / "huge.png", Image.new("RGB", (64, 64)))
    store, messages = load(root, tmp_path, max_pixels=1000)  # 64x64 is over the budget
    assert len(store) == 1
    assert [name for name, _ in store.skipped] == ["bad.jpg", "cut.png", "huge.png"]
    reasons = dict(store.skipped)
    assert reasons["bad.jpg"] == "cannot identify image file"
    assert "truncated" in reasons["cut.png"]
    assert reasons["huge.png"] == (
        "0.0041 MP is over the 0.001 MP limit (raise with --max-image-pixels)"
    )
    summary = next(m for m in messages if m.startswith("skipped"))
    assert summary.startswith("skipped 3 unreadable files: bad.jpg (cannot identify image file)")
    assert "cut.png (" in summary and "huge.png (" in summary


def test_long_skip_lists_are_shortened():
    skipped = [(f"f{i}.jpg", "broken") for i in range(8)]
    summary = skip_summary(skipped)
    assert summary.startswith("skipped 8 unreadable files: f0.jpg (broken)")
    assert summary.endswith(", and 3 more") and "f5.jpg" not in summary


def test_unusable_folders_raise_data_error(tmp_path):
    only_bad = tmp_path / "bad"
    only_bad.mkdir()
    (only_bad / "x.jpg").write_bytes(b"nope")
    truncated_png(only_bad / "y.png")
    with pytest.raises(DataError, match=r"no readable image in .*bad; skipped 2 unreadable"):
        load(only_bad, tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        load(tmp_path / "missing", tmp_path)
    (tmp_path / "file.png").write_bytes(b"")
    with pytest.raises(DataError, match="is not a folder"):
        load(tmp_path / "file.png", tmp_path)
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "readme.txt").write_text("hi")
    with pytest.raises(DataError, match=r"no image files \(jpg, jpeg, png"):
        load(tmp_path / "text", tmp_path)
    with pytest.raises(DataError, match="needs a path: folder:PATH"):
        folder.load(DataRequest(None, R, 3, cache_dir=tmp_path / "cache"))


def test_cache_hit_skips_decoding_and_changes_invalidate(tmp_path, monkeypatch):
    root = tmp_path / "img"
    save(root / "a.png", Image.new("RGB", (20, 20), (10, 20, 30)))
    save(root / "b.png", Image.new("RGB", (20, 20), (40, 50, 60)))
    (root / "bad.jpg").write_bytes(b"junk")
    first, _ = load(root, tmp_path)
    assert first.cache == "miss"

    files = list((tmp_path / "cache").iterdir())
    assert len(files) == 1 and files[0].suffix == ".safetensors"
    with safe_open(str(files[0]), framework="pt") as f:
        assert f.metadata()["source"] == str(root.resolve())
        assert "bad.jpg" in f.metadata()["skipped"]

    real_decode = decode.decode_image

    def no_decoding(*args):
        raise AssertionError("decoded despite an unchanged folder")

    monkeypatch.setattr(decode, "decode_image", no_decoding)
    second, messages = load(root, tmp_path)
    assert second.cache == "hit" and torch.equal(first.tensor, second.tensor)
    assert second.skipped == first.skipped
    assert any(m.startswith("using cached decode of") and "(2 images)" in m for m in messages)

    monkeypatch.setattr(decode, "decode_image", real_decode)
    stat = (root / "a.png").stat()
    os.utime(root / "a.png", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert load(root, tmp_path)[0].cache == "miss"
    assert load(root, tmp_path)[0].cache == "hit"
    save(root / "c.png", Image.new("RGB", (20, 20), (0, 0, 0)))
    added, _ = load(root, tmp_path)
    assert added.cache == "miss" and len(added) == 3
    assert load(root, tmp_path, resolution=8)[0].cache == "miss"


def test_corrupt_cache_file_is_rebuilt(tmp_path):
    root = tmp_path / "img"
    save(root / "a.png", Image.new("RGB", (20, 20), (10, 20, 30)))
    first, _ = load(root, tmp_path)
    (cache_file,) = (tmp_path / "cache").iterdir()
    cache_file.write_bytes(cache_file.read_bytes()[:40])
    rebuilt, messages = load(root, tmp_path)
    assert rebuilt.cache == "miss" and torch.equal(rebuilt.tensor, first.tensor)
    assert any("was corrupt (unreadable" in m and "decoding again" in m for m in messages)
    assert load(root, tmp_path)[0].cache == "hit"
    assert not [p for p in (tmp_path / "cache").iterdir() if p.suffix == ".tmp"]


def test_the_pixel_budget_decides_not_pils_bomb_limit(tmp_path, monkeypatch):
    root = tmp_path / "img"
    save(root / "a.png", Image.new("RGB", (64, 64), (1, 2, 3)))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # PIL alone would refuse 64x64
    store, _ = load(root, tmp_path)
    assert len(store) == 1 and not store.skipped
    assert Image.MAX_IMAGE_PIXELS == 1000  # restored once the decode is over
    raised, _ = load(root, tmp_path, max_pixels=64 * 64)  # the limit itself is allowed
    assert raised.cache == "miss" and len(raised) == 1  # a new budget, a new cache key


@pytest.mark.parametrize("orientation", range(1, 9))
def test_resize_and_crop_matches_resizing_the_whole_image(orientation):
    """The lean path (centre region only, converted in strips, box-reduced when large) gives
    what torchvision's resize-then-centre-crop of the oriented image gave, within rounding."""
    from torchvision.transforms.v2 import functional as TF

    rng = np.random.default_rng(orientation)
    method = resize._ORIENTATIONS.get(orientation)
    cases = [((47, 130), 16, 2), ((130, 47), 64, 2), ((33, 33), 48, 2), ((900, 610), 16, 4)]
    for (width, height), resolution, tolerance in cases:
        smooth = np.linspace(0, 255, width)[None, :, None] * np.ones((height, 1, 3))
        pixels = (smooth * 0.7 + rng.integers(0, 77, (height, width, 3))).astype(np.uint8)
        pixels[height // 3 : height // 2, width // 4 :] = (250, 10, 10)  # a sharp edge
        image = Image.fromarray(pixels)
        shown = image if method is None else image.transpose(method)
        expected = torch.from_numpy(np.array(shown)).permute(2, 0, 1)
        expected = TF.center_crop(TF.resize(expected, [resolution], antialias=True), [resolution])
        got = resize.resize_and_crop(image, resolution, 3, orientation)
        got = torch.from_numpy(np.array(got)).permute(2, 0, 1)
        difference = (got.float() - expected.float()).abs()
        assert difference.max() <= tolerance, (width, height, resolution, difference.max())
        assert difference.mean() < 0.5
