"""shapes: the embedded procedural dataset."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from ganzoo.core.data.store import DataRequest
from ganzoo.core.errors import ConfigError
from ganzoo.plugins.datasets import shapes


def make(size=48, resolution=32, channels=3, seed=0):
    return shapes.load(DataRequest(None, resolution, channels, seed=seed, size=size))


def test_shape_dtype_and_description():
    store = make()
    assert store.kind == "image" and store.tensor.dtype == torch.uint8
    assert store.tensor.shape == (48, 3, 32, 32)
    assert store.description == "48 procedural shape images (seed 0)"
    assert store.labels.shape == (48,) and store.classes == shapes.CLASSES


def test_same_seed_same_bytes_other_seed_differs():
    assert torch.equal(make(seed=3).tensor, make(seed=3).tensor)
    assert not torch.equal(make(seed=3).tensor, make(seed=4).tensor)
    # Each image depends on (seed, index) only, so a smaller set is a prefix of a larger one.
    assert torch.equal(make(size=8, seed=3).tensor, make(seed=3).tensor[:8])


def test_single_channel():
    store = make(channels=1)
    assert store.tensor.shape == (48, 1, 32, 32)


def test_images_are_varied_not_constant():
    images = make(size=64).tensor.float()
    per_image_std = images.flatten(1).std(dim=1)
    assert (per_image_std > 5).float().mean() > 0.9  # shapes stand out from the ground
    flat = images.flatten(1)
    distances = torch.cdist(flat, flat)
    off_diagonal = distances[~torch.eye(len(flat), dtype=torch.bool)]
    assert off_diagonal.min() > 100
    channel_means = images.mean(dim=(0, 2, 3))
    assert channel_means.max() - channel_means.min() < 40  # no colour cast across the set


def test_default_size_and_bad_values():
    assert shapes.DEFAULT_SIZE == 2048
    with pytest.raises(ConfigError):
        make(size=0)
    with pytest.raises(ConfigError):
        make(channels=4)


def test_labels_are_the_kind_of_shape_balanced_and_deterministic():
    store = make(size=200, seed=2)
    assert store.classes == shapes.CLASSES == ("circle", "square", "triangle", "star", "cross")
    assert store.labels.dtype == torch.int64 and store.labels.shape == (200,)
    assert store.provides == {"x", "label"}
    counts = torch.bincount(store.labels, minlength=len(shapes.CLASSES))
    assert counts.min() >= 200 / 5 * 0.5 and counts.max() <= 200 / 5 * 1.5
    assert torch.equal(store.labels, make(size=200, seed=2).labels)
    assert torch.equal(store.labels[:20], make(size=20, seed=2).labels)
    assert not torch.equal(store.labels, make(size=200, seed=3).labels)
    # Every shape of a picture is of the labelled kind, and there are several of them.
    for index in range(50):
        composition = shapes.compose(2, index)
        assert composition.label == store.labels[index]
        assert {shape.kind for shape in composition.shapes} == {composition.kind}
        assert 2 <= len(composition.shapes) <= 6


def fill_fractions(kind):
    """How much of its bounding box and of its circumscribed disc a lone shape fills, as
    painted (turn 0: squares axis-aligned, the others pointing up)."""
    colour, ground = (240, 200, 40), (20, 20, 20)
    shape = shapes.Shape(kind, 0.5, 0.5, 0.3, 0.0, colour)
    picture = shapes.paint(shapes.Composition(0, ground, (shape,)), 64)
    pixels = torch.from_numpy(np.array(picture)).float()
    near = (pixels - torch.tensor(colour)).abs().sum(-1) < (
        pixels - torch.tensor(ground)
    ).abs().sum(-1)
    ys, xs = torch.nonzero(near, as_tuple=True)
    area = float(near.sum())
    box = float((ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1))
    reach = float(torch.hypot(ys - ys.float().mean(), xs - xs.float().mean()).max()) + 0.5
    return area / box, area / (math.pi * reach**2)


def test_each_kind_fills_its_box_and_disc_measurably_differently():
    fractions = {kind: fill_fractions(kind) for kind in shapes.CLASSES}
    assert fractions["circle"][0] == pytest.approx(math.pi / 4, abs=0.05)
    assert fractions["circle"][1] > 0.9
    assert fractions["square"][0] > 0.95
    assert fractions["triangle"][0] == pytest.approx(0.5, abs=0.05)
    for first, second in itertools.combinations(shapes.CLASSES, 2):
        box_gap = abs(fractions[first][0] - fractions[second][0])
        disc_gap = abs(fractions[first][1] - fractions[second][1])
        assert max(box_gap, disc_gap) > 0.1, (first, second, fractions)


def test_pictures_show_circles_round_and_squares_cornered():
    """In the generated pictures, the top shape's colour reaches the corners of a square
    (probes at 0.78 of the radius along both axes of the shape) but not of a circle."""
    resolution = 128
    hits = {"circle": [], "square": []}
    for index in range(1000):
        composition = shapes.compose(0, index)
        top = composition.shapes[-1]
        if composition.kind not in hits or top.style != "solid" or top.radius < 0.1:
            continue
        if len(hits[composition.kind]) >= 40:
            continue
        pixels = np.asarray(shapes.render(0, index, resolution)).astype(int)
        radius = top.radius * resolution
        cos, sin = math.cos(top.turn), math.sin(top.turn)
        centre = pixels[int(top.y * resolution), int(top.x * resolution)]
        assert np.abs(centre - top.colour).max() < 24  # the shape is where it was laid out
        for u, v in ((0.78, 0.78), (-0.78, 0.78), (0.78, -0.78), (-0.78, -0.78)):
            x = top.x * resolution + (u * cos - v * sin) * radius
            y = top.y * resolution + (u * sin + v * cos) * radius
            if 0 <= x < resolution and 0 <= y < resolution:
                probe = pixels[int(y), int(x)]
                hits[composition.kind].append(np.abs(probe - top.colour).max() < 24)
    assert len(hits["circle"]) >= 12 and len(hits["square"]) >= 12
    assert np.mean(hits["square"]) > 0.85
    assert np.mean(hits["circle"]) < 0.3
