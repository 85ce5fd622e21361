"""folder:PATH class labels: from class subfolders, through skips and the decode cache."""

from __future__ import annotations

import os

import pytest
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import save_file

from ganzoo.core.data.store import DataRequest
from ganzoo.core.errors import DataError
from ganzoo.plugins.datasets import folder
from ganzoo.plugins.datasets.folder import decode

R = 8
COLOURS = {"cats": (250, 10, 10), "dogs": (10, 250, 10), "owls": (10, 10, 250)}


def save(path, colour=(128, 128, 128), size=(12, 10)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)


def load(root, tmp_path, needs=("x",), **options):
    messages: list[str] = []
    request = DataRequest(
        str(root),
        R,
        3,
        cache_dir=tmp_path / "cache",
        needs=frozenset(needs),
        report=messages.append,
        **options,
    )
    return folder.load(request), messages


def colour_class(image):
    """The class whose colour an image is (each channel's mean decides)."""
    mean = tuple(image.float().mean(dim=(1, 2)).tolist())
    return min(COLOURS, key=lambda c: sum(abs(m - v) for m, v in zip(mean, COLOURS[c])))


def no_decoding(*args, **kwargs):
    raise AssertionError("decoded")


@pytest.fixture
def classes(tmp_path):
    root = tmp_path / "animals"
    for name in ("cats/1.png", "cats/2.jpg", "dogs/1.png", "dogs/deep/er/2.png", "owls/x.bmp"):
        save(root / name, COLOURS[name.split("/")[0]])
    return root


def test_class_subfolders_give_labels_that_follow_the_images(classes, tmp_path):
    store, _ = load(classes, tmp_path)
    assert store.classes == ("cats", "dogs", "owls")
    assert store.labels.dtype == torch.int64 and store.labels.tolist() == [0, 0, 1, 1, 2]
    for image, label in zip(store.tensor, store.labels):
        assert colour_class(image) == store.classes[label]
    assert store.provides == {"x", "label"} and "in 3 classes" in store.description


def test_labels_follow_the_images_kept_and_survive_the_cache(classes, tmp_path, monkeypatch):
    (classes / "cats" / "0.png").write_bytes(b"not an image")  # before every cat
    (classes / "bats").mkdir()
    (classes / "bats" / "only.png").write_bytes(b"broken too")  # a class with nothing readable
    first, messages = load(classes, tmp_path, needs=("x", "label"))
    assert first.cache == "miss" and len(first) == 5
    assert first.classes == ("cats", "dogs", "owls")  # bats holds no decodable image
    assert first.labels.tolist() == [0, 0, 1, 1, 2]
    assert [name for name, _ in first.skipped] == ["bats/only.png", "cats/0.png"]
    assert any(m.startswith("skipped 2 unreadable files") for m in messages)
    for image, label in zip(first.tensor, first.labels):
        assert colour_class(image) == first.classes[label]

    monkeypatch.setattr(decode, "decode_image", no_decoding)
    second, _ = load(classes, tmp_path, needs=("x", "label"))
    assert second.cache == "hit"
    assert torch.equal(second.tensor, first.tensor)
    assert torch.equal(second.labels, first.labels) and second.classes == first.classes
    assert second.skipped == first.skipped


def test_a_flat_folder_has_no_labels_and_refuses_a_model_that_needs_them(tmp_path, monkeypatch):
    root = tmp_path / "flat"
    save(root / "a.png")
    save(root / "b.png")
    store, _ = load(root, tmp_path)
    assert store.labels is None and store.classes is None and store.provides == {"x"}
    (root / "notes").mkdir()  # a subfolder without images is no class
    (root / "notes" / "readme.txt").write_text("hi")
    monkeypatch.setattr(decode, "decode_image", no_decoding)  # refused before decoding
    with pytest.raises(DataError) as caught:
        load(root, tmp_path / "other", needs=("x", "label"))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("model needs class labels, but folder ")
    assert "has no class subfolders (put each class's images in its own subfolder: " in message
    assert message.endswith(f"{root}/CLASS/*.png)")


def test_images_next_to_class_subfolders(classes, tmp_path):
    save(classes / "stray.png", COLOURS["cats"])
    save(classes / "other.png", COLOURS["dogs"])
    # Without needing labels, every image is a sample, and there are no classes.
    store, _ = load(classes, tmp_path)
    assert len(store) == 7 and store.labels is None and store.classes is None
    # A model that needs labels gets only the images in class subfolders, told how many not.
    store, messages = load(classes, tmp_path, needs=("x", "label"))
    assert len(store) == 5 and store.labels.tolist() == [0, 0, 1, 1, 2]
    assert ("stray.png", folder.NOT_IN_A_CLASS) in store.skipped
    (note,) = [m for m in messages if m.startswith("left out")]
    assert note.startswith("left out 2 images lying directly in ") and "\n" not in note
    again, _ = load(classes, tmp_path, needs=("x", "label"))
    assert again.cache == "hit" and torch.equal(again.labels, store.labels)


def test_one_class_is_fine_and_said(tmp_path):
    root = tmp_path / "one"
    save(root / "faces" / "a.png")
    save(root / "faces" / "b.png")
    store, messages = load(root, tmp_path, needs=("x", "label"))
    assert store.classes == ("faces",) and store.labels.tolist() == [0, 0]
    assert any("has one class (faces)" in m for m in messages)


def test_class_names_are_printable_and_distinct(tmp_path):
    root = tmp_path / "odd"
    save(root / "new\nline" / "a.png")
    save(root / "tab\t\x1b[31m" / "b.png")
    save(root / "back\\nslash" / "c.png")  # looks like the escaped newline, but is not
    raw = os.path.join(os.fsencode(root), b"\xff\xfe")
    os.mkdir(raw)
    Image.new("RGB", (9, 9)).save(os.path.join(raw, b"d.png"))
    store, _ = load(root, tmp_path, needs=("x", "label"))
    assert len(store.classes) == 4 == len(set(store.classes))
    assert all(name and name.isprintable() for name in store.classes)
    assert {"new\\nline", "tab\\t\\x1b[31m", "back\\\\nslash", "\\xff\\xfe"} == set(store.classes)
    assert sorted(store.labels.tolist()) == [0, 1, 2, 3]


def test_needing_labels_with_nothing_readable_in_the_classes(tmp_path):
    root = tmp_path / "bad"
    save(root / "top.png")
    (root / "cats").mkdir()
    (root / "cats" / "a.png").write_bytes(b"junk")
    with pytest.raises(DataError, match=r"^no readable image in .*cats/a\.png \(cannot identify"):
        load(root, tmp_path, needs=("x", "label"))


def test_a_cache_whose_skipped_list_does_not_fit_is_rebuilt(classes, tmp_path):
    """Labels come from the names of the files kept: a cache whose skip list does not
    account for its images (which would shift every label) is not trusted."""
    (classes / "cats" / "0.png").write_bytes(b"not an image")
    first, _ = load(classes, tmp_path)
    (cache_file,) = (tmp_path / "cache").iterdir()
    with safe_open(str(cache_file), framework="pt") as f:
        metadata, images = f.metadata(), f.get_tensor("images")
    save_file({"images": images}, str(cache_file), metadata={**metadata, "skipped": "[]"})
    rebuilt, messages = load(classes, tmp_path)
    assert rebuilt.cache == "miss" and torch.equal(rebuilt.labels, first.labels)
    assert any("was corrupt (holds 5 images for another list of files)" in m for m in messages)
