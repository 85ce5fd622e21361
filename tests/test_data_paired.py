"""paired:PATH (A|B side by side, or A/ and B/) and unpaired:PATH|A,B."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from PIL import Image

from ganzoo.core.data.store import DataRequest
from ganzoo.core.errors import ConfigError, DataError
from ganzoo.plugins.datasets import folder, paired, unpaired
from ganzoo.plugins.datasets.folder import decode, resize

R = 8
RED, BLUE, GREEN = (250, 10, 10), (10, 10, 250), (10, 250, 10)


def save(path, image, **kwargs):
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **kwargs)


def flat(colour, size=(12, 12)):
    return Image.new("RGB", size, colour)


def noise(seed, width, height):
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


def side_by_side(a, b, middle=None):
    """A|B in one picture; ``middle``: a one-pixel column of that colour between them."""
    gap = 0 if middle is None else 1
    both = Image.new("RGB", (a.width + gap + b.width, a.height), middle or (0, 0, 0))
    both.paste(a, (0, 0))
    both.paste(b, (a.width + gap, 0))
    return both


def request(argument, tmp_path, messages=None, **options):
    options.setdefault("cache_dir", tmp_path / "cache")
    return DataRequest(
        str(argument),
        options.pop("resolution", R),
        options.pop("channels", 3),
        report=(messages if messages is not None else []).append,
        **options,
    )


def load(source, argument, tmp_path, **options):
    messages: list[str] = []
    return source.load(request(argument, tmp_path, messages, **options)), messages


def mean_colour(images):
    return images.float().mean(dim=(0, 2, 3)).tolist()


def near(got, expected, tolerance=8):
    return max(abs(g - e) for g, e in zip(got, expected)) <= tolerance


def no_decoding(*args, **kwargs):
    raise AssertionError("decoded")


def one_line_error(kind, call, *args, **kwargs):
    with pytest.raises(kind) as caught:
        call(*args, **kwargs)
    message = str(caught.value)
    assert message and "\n" not in message, message
    return message


# --- A|B side by side ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "middle"),
    [((10, 10), None), ((13, 7), None), ((9, 14), RED), ((7, 7), RED)],
    ids=["square", "wide", "tall-odd-total", "odd-total"],
)
def test_each_half_is_resized_as_a_file_of_its_own(tmp_path, size, middle):
    a, b = noise(1, *size), noise(2, *size)
    save(tmp_path / "pairs" / "0.png", side_by_side(a, b, middle))
    save(tmp_path / "alone" / "a" / "0.png", a)
    save(tmp_path / "alone" / "b" / "0.png", b)
    store, _ = load(paired, tmp_path / "pairs", tmp_path)
    assert store.provides == {"source", "target"} and store.source.shape == (1, 3, R, R)
    a_alone = load(folder, tmp_path / "alone" / "a", tmp_path)[0].tensor
    b_alone = load(folder, tmp_path / "alone" / "b", tmp_path)[0].tensor
    # Exactly: nothing of the other half, nor of an odd width's middle column, reaches in.
    assert torch.equal(store.source, a_alone) and torch.equal(store.target, b_alone)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_part_is_resized_exactly_as_the_part_alone(orientation):
    method = resize._ORIENTATIONS.get(orientation)
    stored = noise(orientation, 41, 23)
    shown = stored if method is None else stored.transpose(method)
    for part in resize.split_halves(*shown.size):
        got = np.array(resize.resize_and_crop(stored, 8, 3, orientation, part=part))
        # Exactly what a file holding only that part (stored the same way) gives ...
        box = resize._stored_box(part, orientation, *stored.size)
        alone = resize.resize_and_crop(stored.crop(box), 8, 3, orientation)
        assert np.array_equal(got, np.array(alone)), (orientation, part)
        # ... which is the displayed part, resized (within rounding: the turn comes last).
        shown_part = np.array(resize.resize_and_crop(shown.crop(part), 8, 3))
        assert np.abs(got.astype(int) - shown_part).max() <= 2, (orientation, part)


def test_halves_of_a_turned_jpeg_and_grayscale(tmp_path):
    shown = side_by_side(flat(RED, (64, 48)), flat(BLUE, (64, 48)))
    exif = Image.Exif()
    exif[0x0112] = 6  # stored a quarter turn anticlockwise: displayed turned back
    save(tmp_path / "p" / "x.jpg", shown.transpose(Image.Transpose.ROTATE_90), exif=exif)
    store, _ = load(paired, tmp_path / "p", tmp_path)
    assert near(mean_colour(store.source), RED, 12) and near(mean_colour(store.target), BLUE, 12)
    gray, _ = load(paired, tmp_path / "p", tmp_path, channels=1)
    assert gray.source.shape == (1, 1, R, R) and gray.cache == "miss"


def test_a_train_subfolder_is_read_and_direction_swaps(tmp_path):
    root = tmp_path / "facades"
    for split in ("train", "val"):
        for index in range(3):
            colour = RED if split == "train" else GREEN
            save(root / split / f"{index}.jpg", side_by_side(flat(colour), flat(BLUE)))
    store, _ = load(paired, root, tmp_path)
    assert len(store) == 3 and f"from {root.resolve() / 'train'}" in store.description
    assert near(mean_colour(store.source), RED) and near(mean_colour(store.target), BLUE)
    swapped, _ = load(paired, root, tmp_path, direction="BtoA")
    assert swapped.cache == "hit"
    assert torch.equal(swapped.source, store.target) and torch.equal(swapped.target, store.source)


def test_the_side_by_side_cache(tmp_path, monkeypatch):
    root = tmp_path / "pairs"
    for index in range(3):
        save(root / f"{index}.png", side_by_side(noise(index, 10, 10), noise(9 + index, 10, 10)))
    (root / "bad.png").write_bytes(b"junk")
    save(root / "thin.png", flat(RED, (1, 12)))  # too narrow to hold two halves
    first, messages = load(paired, root, tmp_path)
    assert first.cache == "miss" and len(first) == 3
    assert dict(first.skipped) == {
        "bad.png": "cannot identify image file",
        "thin.png": "1 pixel wide: too narrow to hold A|B side by side",
    }
    assert any(m.startswith("skipped 2 unreadable files") for m in messages)

    monkeypatch.setattr(decode, "decode_image", no_decoding)
    second, messages = load(paired, root, tmp_path)
    assert second.cache == "hit" and second.skipped == first.skipped
    assert torch.equal(second.source, first.source) and torch.equal(second.target, first.target)
    assert any(m.startswith("using cached decode of") for m in messages)

    # The same files decoded whole have a cache file of their own, never the split one.
    monkeypatch.undo()
    whole, _ = load(folder, root, tmp_path)
    assert whole.cache == "miss" and whole.tensor.shape == (4, 3, R, R)  # thin.png too
    assert len(list((tmp_path / "cache").glob("*.safetensors"))) == 2
    assert load(paired, root, tmp_path)[0].cache == "hit"
    assert load(folder, root, tmp_path)[0].cache == "hit"


# --- A/ and B/ ----------------------------------------------------------------------------


@pytest.fixture
def ab(tmp_path):
    root = tmp_path / "ab"
    save(root / "A" / "1.jpg", flat(RED))
    save(root / "B" / "1.png", flat(BLUE))  # another extension: still a pair
    save(root / "A" / "sub" / "2.png", flat(RED, (20, 10)))
    save(root / "B" / "sub" / "2.png", flat(BLUE, (7, 15)))  # sizes may differ
    save(root / "A" / "lonely.png", flat(RED))
    save(root / "B" / "solo.png", flat(BLUE))
    save(root / "B" / "sub" / "1.png", flat(BLUE))  # sub/1 is not 1
    return root


def test_a_and_b_folders_pair_by_name(ab, tmp_path):
    store, messages = load(paired, ab, tmp_path)
    assert len(store) == 2 and store.source.shape == (2, 3, R, R)
    assert near(mean_colour(store.source), RED) and near(mean_colour(store.target), BLUE)
    assert store.skipped == [
        ("A/lonely.png", "no partner in B/"),
        ("B/solo.png", "no partner in A/"),
        ("B/sub/1.png", "no partner in A/"),
    ]
    (note,) = [m for m in messages if m.startswith("skipped")]
    assert note.startswith("skipped 3 unpaired files: A/lonely.png (no partner in B/)")
    swapped, messages = load(paired, ab, tmp_path, direction="BtoA")
    assert swapped.cache == "hit" and any(m.startswith("skipped 3 unpaired") for m in messages)
    assert torch.equal(swapped.source, store.target) and torch.equal(swapped.target, store.source)


def test_ambiguous_and_unreadable_partners(ab, tmp_path, monkeypatch):
    save(ab / "A" / "1.png", flat(GREEN))  # A/1.jpg and A/1.png: which is B/1.png's?
    (ab / "B" / "sub" / "2.png").write_bytes(b"broken")
    save(ab / "A" / "3.png", flat(RED))
    save(ab / "B" / "3.png", flat(BLUE))
    store, messages = load(paired, ab, tmp_path)
    assert len(store) == 1
    reasons = dict(store.skipped)
    ambiguous = "ambiguous: 2 in A/ and 1 in B/ share its name without the extension"
    assert reasons["A/1.jpg"] == reasons["A/1.png"] == reasons["B/1.png"] == ambiguous
    assert reasons["B/sub/2.png"] == "cannot identify image file"
    assert reasons["A/sub/2.png"] == "its partner B/sub/2.png is unreadable"
    assert any(m.startswith("skipped 1 unreadable file: B/sub/2.png") for m in messages)
    monkeypatch.setattr(decode, "decode_image", no_decoding)
    again, _ = load(paired, ab, tmp_path)
    assert again.cache == "hit" and again.skipped == store.skipped
    assert torch.equal(again.source, store.source) and torch.equal(again.target, store.target)


def test_a_and_b_inside_train_and_loose_images(tmp_path):
    root = tmp_path / "set"
    save(root / "train" / "A" / "x.png", flat(RED))
    save(root / "train" / "B" / "x.png", flat(BLUE))
    save(root / "train" / "note.png", flat(GREEN))
    store, messages = load(paired, root, tmp_path)
    assert len(store) == 1 and near(mean_colour(store.source), RED)
    assert any(m.startswith("left out 1 image lying directly in ") for m in messages)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_special_files_are_skipped_in_both_layouts(ab, tmp_path):
    os.mkfifo(ab / "B" / "lonely.png")  # would pair with A/lonely.png, but is never opened
    store, _ = load(paired, ab, tmp_path)
    assert len(store) == 2
    assert ("B/lonely.png", "not a regular file (fifo)") in store.skipped
    assert ("A/lonely.png", "no partner in B/") in store.skipped
    halves = tmp_path / "halves"
    save(halves / "x.png", side_by_side(flat(RED), flat(BLUE)))
    os.mkfifo(halves / "y.png")
    store, _ = load(paired, halves, tmp_path)
    assert len(store) == 1 and store.skipped == [("y.png", "not a regular file (fifo)")]


def test_paired_errors_are_one_line(tmp_path):
    root = tmp_path / "p"
    save(root / "A" / "x.png", flat(RED))
    message = one_line_error(DataError, paired.load, request(root, tmp_path))
    assert "has A/ but no B/" in message
    save(root / "B" / "y.png", flat(BLUE))
    message = one_line_error(DataError, paired.load, request(root, tmp_path))
    assert message.startswith("no pairs in ") and "skipped 2 unpaired files" in message
    (root / "B" / "y.png").unlink()
    message = one_line_error(DataError, paired.load, request(root, tmp_path))
    assert message.startswith("no image files (jpg") and "in B/ of " in message
    (root / "B").rmdir()
    (root / "A" / "x.png").unlink()
    (root / "A").rmdir()
    message = one_line_error(DataError, paired.load, request(root, tmp_path))
    assert message.startswith("no image files")
    (root / "bad.png").write_bytes(b"junk")
    message = one_line_error(DataError, paired.load, request(root, tmp_path))
    assert message.startswith("no readable image in ") and "bad.png (cannot identify" in message
    message = one_line_error(DataError, paired.load, request(tmp_path / "nope", tmp_path))
    assert message.endswith("does not exist")
    message = one_line_error(
        ConfigError, paired.load, request(root, tmp_path, direction="sideways")
    )
    assert message == "the direction is one of AtoB, BtoA; got sideways"
    message = one_line_error(DataError, paired.load, DataRequest(None, R, 3))
    assert message.startswith("dataset 'paired' needs a path: paired:PATH")


# --- unpaired -----------------------------------------------------------------------------


def test_unpaired_path_form_reads_train_a_and_b(tmp_path, monkeypatch):
    root = tmp_path / "horse,zebra"  # an existing folder is PATH, comma and all
    for index in range(3):
        save(root / "trainA" / f"{index}.png", flat(RED, (10 + index, 12)))
    save(root / "trainB" / "z.jpg", flat(BLUE))
    (root / "trainB" / "bad.png").write_bytes(b"junk")
    save(root / "testA" / "t.png", flat(GREEN))  # not read
    store, messages = load(unpaired, root, tmp_path)
    assert store.provides == {"a", "b"} and (len(store.a), len(store.b)) == (3, 1)
    assert near(mean_colour(store.a), RED) and near(mean_colour(store.b), BLUE)
    assert store.skipped == [("trainB/bad.png", "cannot identify image file")]
    assert any(
        m.startswith("domain B: skipped 1 unreadable file: trainB/bad.png") for m in messages
    )
    monkeypatch.setattr(decode, "decode_image", no_decoding)
    again, _ = load(unpaired, root, tmp_path)
    assert again.cache == "hit" and again.skipped == store.skipped
    assert torch.equal(again.a, store.a) and torch.equal(again.b, store.b)


def test_unpaired_two_folders(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    save(tmp_path / "photos" / "1.png", flat(RED))
    save(tmp_path / "photos" / "2.png", flat(RED))
    save(tmp_path / "paint,ings" / "1.png", flat(BLUE))  # a comma in the second folder's name
    store, _ = load(unpaired, "photos,paint,ings", tmp_path)
    assert (len(store.a), len(store.b)) == (2, 1) and near(mean_colour(store.b), BLUE)
    spaced, _ = load(unpaired, "photos, paint,ings", tmp_path)
    assert torch.equal(spaced.b, store.b) and spaced.cache == "hit"
    # The same folder decoded by folder: shares the cache (the same whole-picture decode).
    assert load(folder, "photos", tmp_path)[0].cache == "hit"


def test_unpaired_errors_are_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "set"
    save(root / "trainA" / "a.png", flat(RED))
    message = one_line_error(DataError, unpaired.load, request(root, tmp_path))
    assert "needs trainA/ and trainB/ subfolders (trainB/ missing)" in message
    (root / "trainB").mkdir()
    message = one_line_error(DataError, unpaired.load, request(root, tmp_path))
    assert message.startswith("no image files (jpg") and "in domain B folder " in message
    (root / "trainB" / "b.png").write_bytes(b"junk")
    message = one_line_error(DataError, unpaired.load, request(root, tmp_path))
    assert message.startswith("no readable image in domain B folder ")
    message = one_line_error(DataError, unpaired.load, request("set/trainA,nope", tmp_path))
    assert message == "domain B folder nope does not exist"
    message = one_line_error(DataError, unpaired.load, request("set/trainA,", tmp_path))
    assert message == "unpaired:A,B needs two folders; domain B is empty"
    message = one_line_error(DataError, unpaired.load, request("missing", tmp_path))
    assert message.startswith("unpaired folder missing does not exist (unpaired:PATH")
    (tmp_path / "x").mkdir()
    (tmp_path / "x,y").mkdir()
    (tmp_path / "y,z").mkdir()
    (tmp_path / "z").mkdir()
    message = one_line_error(DataError, unpaired.load, request("x,y,z", tmp_path))
    assert "is ambiguous" in message
    message = one_line_error(DataError, unpaired.load, DataRequest(None, R, 3))
    assert message.startswith("dataset 'unpaired' needs a path: unpaired:PATH")
