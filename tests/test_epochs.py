"""--epochs counts the batches a training step really draws, and the logged epoch is exact."""

from __future__ import annotations

import json

import pytest

from ganzoo.core.training.session import start_run

POINTS = dict(dataset="ring8", dataset_size=256, batch_size=32, model_options={"hidden": 8})


@pytest.mark.parametrize("d_steps, steps", [(1, 16), (2, 8), (4, 4)])
def test_epochs_count_every_batch_a_step_draws(tmp_path, d_steps, steps):
    result = start_run("mlp", dict(POINTS, epochs=2, d_steps=d_steps, log_every=1,
                                   out=tmp_path / "run"))  # fmt: skip
    assert result.step == steps  # 2 epochs of 256 / 32 = 16 batches
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert json.loads(lines[-1])["epoch"] == 2.0


def test_unpaired_domains_count_epochs_over_the_larger_domain(tmp_path):
    import torch

    from ganzoo.core.data.batching import BatchSource
    from ganzoo.core.data.store import DataStore

    store = DataStore(
        kind="image",
        a=torch.zeros(40, 1, 4, 4, dtype=torch.uint8),
        b=torch.ones(100, 1, 4, 4, dtype=torch.uint8),
    )
    source = BatchSource(store, ("a", "b"), 10, 0, torch.device("cpu"))
    assert len(source) == 100 and source.per_epoch == 10
    seen_a = torch.cat([source.next()["a"] for _ in range(4)])
    assert seen_a.shape == (40, 1, 4, 4)
    assert source.epoch() == 0.4
