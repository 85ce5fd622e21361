"""shapes: the embedded procedural dataset."""

from __future__ import annotations

import pytest
import torch

from ganzoo.core.data import DataRequest
from ganzoo.core.errors import ConfigError
from ganzoo.plugins.datasets import shapes


def make(size=48, resolution=32, channels=3, seed=0):
    return shapes.load(DataRequest(None, resolution, channels, seed=seed, size=size))


def test_shape_dtype_and_description():
    store = make()
    assert store.kind == "image" and store.tensor.dtype == torch.uint8
    assert store.tensor.shape == (48, 3, 32, 32)
    assert store.description == "48 procedural shape images (seed 0)"


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
