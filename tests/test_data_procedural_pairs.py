"""edges2shapes (paired) and shapestyles (unpaired): the procedural image-to-image sets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganzoo.core.data.store import DataRequest
from ganzoo.core.errors import ConfigError
from ganzoo.plugins.datasets import edges2shapes, shapes, shapestyles
from ganzoo.zoo.catalog import Catalog
from ganzoo.zoo.descriptors import resolve_factory


def request(size=24, resolution=32, channels=3, seed=0, direction="AtoB"):
    return DataRequest(None, resolution, channels, seed=seed, size=size, direction=direction)


def gradient(images):
    """The per-pixel gradient magnitude of uint8 (N, C, H, W) images, channels averaged."""
    gray = images.float().mean(dim=1)
    dx = torch.zeros_like(gray)
    dy = torch.zeros_like(gray)
    dx[:, :, 1:-1] = gray[:, :, 2:] - gray[:, :, :-2]
    dy[:, 1:-1, :] = gray[:, 2:, :] - gray[:, :-2, :]
    return torch.hypot(dx, dy)


# edges2shapes


def test_edges2shapes_shapes_and_fields():
    store = edges2shapes.load(request())
    assert store.kind == "image" and store.provides == {"source", "target"}
    assert store.source.shape == store.target.shape == (24, 3, 32, 32)
    assert store.source.dtype == store.target.dtype == torch.uint8
    assert store.tensor is None and store.labels is None
    assert len(store) == 24
    assert "24 procedural edge/shape pairs" in store.description
    gray = edges2shapes.load(request(channels=1))
    assert gray.source.shape == gray.target.shape == (24, 1, 32, 32)
    assert edges2shapes.DEFAULT_SIZE == 2048


def test_edges2shapes_is_deterministic_and_prefix_stable():
    first = edges2shapes.load(request(seed=4))
    again = edges2shapes.load(request(seed=4))
    assert torch.equal(first.source, again.source) and torch.equal(first.target, again.target)
    fewer = edges2shapes.load(request(size=6, seed=4))
    assert torch.equal(fewer.source, first.source[:6])
    assert torch.equal(fewer.target, first.target[:6])
    assert not torch.equal(first.target, edges2shapes.load(request(seed=5)).target)
    # Its own stream of layouts: not the shapes set's pictures.
    assert not torch.equal(first.target, shapes.load(request(seed=4)).tensor)


def test_edge_map_is_dark_lines_on_white_along_the_targets_edges():
    store = edges2shapes.load(request(size=32))
    sketch, picture = store.source.float(), store.target
    # Mostly white paper, and every map has some ink.
    assert (sketch > 200).float().mean() > 0.7
    assert ((sketch < 100).flatten(1).sum(dim=1) > 0).all()
    # Grey: the three channels of a sketch are equal.
    assert torch.equal(store.source[:, 0], store.source[:, 1])
    # The ink lies where the picture changes: its gradient is much larger under the lines.
    ink = (sketch.mean(dim=1) < 100)[:, 2:-2, 2:-2]
    steep = gradient(picture)[:, 2:-2, 2:-2]
    assert steep[ink].mean() > 4 * steep[~ink].mean()
    # And the paper is where it does not: most flat parts of the picture stay white.
    flat = steep < 2
    assert (sketch.mean(dim=1)[:, 2:-2, 2:-2][flat] > 200).float().mean() > 0.95


def test_edges2shapes_direction_swaps_the_sides():
    forward = edges2shapes.load(request(size=8))
    backward = edges2shapes.load(request(size=8, direction="BtoA"))
    assert torch.equal(forward.source, backward.target)
    assert torch.equal(forward.target, backward.source)
    assert "edge map -> picture" in forward.description
    assert "picture -> edge map" in backward.description
    with pytest.raises(ConfigError):
        edges2shapes.load(request(direction="sideways"))


def test_edges2shapes_memory_guard_counts_both_sides(monkeypatch):
    from ganzoo.core import limits

    per_side = 3 * 32 * 32
    monkeypatch.setattr(limits, "MAX_PROCEDURAL_BYTES", 10 * per_side)
    edges2shapes.load(request(size=5))  # 5 pairs: 10 images
    with pytest.raises(ConfigError, match="edges2shapes"):
        edges2shapes.load(request(size=6))
    with pytest.raises(ConfigError):
        edges2shapes.load(request(size=0))


# shapestyles


def test_shapestyles_shapes_and_fields():
    store = shapestyles.load(request())
    assert store.kind == "image" and store.provides == {"a", "b"}
    assert store.a.shape == store.b.shape == (24, 3, 32, 32)
    assert store.a.dtype == store.b.dtype == torch.uint8
    assert [list(table) for table in store.tables()] == [["a"], ["b"]]
    gray = shapestyles.load(request(channels=1))
    assert gray.a.shape == gray.b.shape == (24, 1, 32, 32)


def test_shapestyles_is_deterministic_and_prefix_stable():
    first = shapestyles.load(request(seed=2))
    again = shapestyles.load(request(seed=2))
    assert torch.equal(first.a, again.a) and torch.equal(first.b, again.b)
    fewer = shapestyles.load(request(size=5, seed=2))
    assert torch.equal(fewer.a, first.a[:5]) and torch.equal(fewer.b, first.b[:5])
    assert not torch.equal(first.a, shapestyles.load(request(seed=3)).a)


def test_shapestyles_domains_differ_in_style():
    store = shapestyles.load(request(size=48))
    a, b = store.a.float(), store.b.float()
    # A: light grounds and bright fills; B: dark grounds with thin glowing outlines.
    brightness_a, brightness_b = a.mean(dim=(1, 2, 3)), b.mean(dim=(1, 2, 3))
    assert brightness_b.max() < 100 < brightness_a.min()
    # A's pictures are mostly light, B's mostly dark, pixel by pixel too.
    assert (a.mean(dim=1) > 150).float().mean() > 0.7
    assert (b.mean(dim=1) < 60).float().mean() > 0.7
    # B's light is saturated: its brightest pixels are strongly coloured.
    spread = b.max(dim=1).values - b.min(dim=1).values
    lit = b.max(dim=1).values > 180
    assert spread[lit].mean() > 60


def test_shapestyles_domains_are_unpaired_but_share_the_layouts():
    # Row i of A and row i of B are different layouts (independent streams) ...
    a = [shapes.compose(0, i, shapestyles.STREAMS[0]) for i in range(200)]
    b = [shapes.compose(0, i, shapestyles.STREAMS[1]) for i in range(200)]
    assert sum(x.shapes[0].x == y.shapes[0].x for x, y in zip(a, b, strict=True)) == 0
    assert sum(x.label == y.label for x, y in zip(a, b, strict=True)) < 80
    # ... drawn from the same distribution of layouts: every kind, similar counts and sizes.
    for domain in (a, b):
        assert {c.label for c in domain} == set(range(len(shapes.CLASSES)))
    count_a = sum(len(c.shapes) for c in a) / 200
    count_b = sum(len(c.shapes) for c in b) / 200
    assert abs(count_a - count_b) < 0.5
    # B's pictures are B's layouts, not A's restyled.
    store = shapestyles.load(request(size=8))
    for i in range(8):
        own = np.array(shapestyles.paint_neon(b[i], 32)).transpose(2, 0, 1)
        other = np.array(shapestyles.paint_neon(a[i], 32)).transpose(2, 0, 1)
        assert np.array_equal(store.b[i].numpy(), own)
        assert not np.array_equal(store.b[i].numpy(), other)


def test_shapestyles_memory_guard_counts_both_domains(monkeypatch):
    from ganzoo.core import limits

    monkeypatch.setattr(limits, "MAX_PROCEDURAL_BYTES", 10 * 3 * 32 * 32)
    shapestyles.load(request(size=5))
    with pytest.raises(ConfigError, match="shapestyles"):
        shapestyles.load(request(size=6))


def test_procedural_sets_resolve_through_the_registry():
    catalog = Catalog.from_entry_points()
    for name, fields in (
        ("shapes", {"x", "label"}),
        ("edges2shapes", {"source", "target"}),
        ("shapestyles", {"a", "b"}),
    ):
        entry = catalog.dataset(name)
        assert entry.plugin.name == "datasets" and not entry.info.argument_required
        store = resolve_factory(entry.info.factory)(request(size=4, resolution=16))
        assert store.provides == fields == set(entry.info.provides)


def test_edges2shapes_paints_what_the_sketch_decides():
    """A colouring book: the ground is one paper colour, each kind of shape has its own hue
    and a shape's shade follows its size, so the sketch determines the picture."""
    composition = shapes.compose(0, 3, edges2shapes.STREAM)
    painted = edges2shapes.colouring_book(composition)
    assert painted.ground == edges2shapes.PAPER and painted.backdrop == "flat"
    assert [s.kind for s in painted.shapes] == [s.kind for s in composition.shapes]
    for shape in painted.shapes:
        hue = shapes.hsv_of(shape.colour)[0]
        want = edges2shapes.HUES[shape.kind]
        assert min(abs(hue - want), 1 - abs(hue - want)) < 0.02
    big, small = (
        max(painted.shapes, key=lambda s: s.radius),
        min(painted.shapes, key=lambda s: s.radius),
    )
    assert shapes.hsv_of(big.colour)[2] <= shapes.hsv_of(small.colour)[2]
    # Most of every picture is the paper itself.
    store = edges2shapes.load(request(size=16))
    paper = torch.tensor(edges2shapes.PAPER).view(1, 3, 1, 1)
    on_paper = ((store.target.int() - paper).abs().amax(dim=1) <= 2).float().mean()
    assert on_paper > 0.5
