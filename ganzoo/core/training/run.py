"""A resolved run: every name turned into an object, checked, ready for the trainer.

``session`` resolves the names (model, loss, data, folder) once and hands the trainer this
one object, so nothing in the trainer calls back into the catalog.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from ganzoo.core.data.store import DataStore
from ganzoo.core.distributed import SINGLE, Ranks
from ganzoo.core.interfaces import Loss, Model
from ganzoo.core.training.augment import Augment, Identity
from ganzoo.core.training.config import TrainConfig
from ganzoo.core.training.run_folder import RunFolder
from ganzoo.core.training.steps import TrainStep
from ganzoo.zoo.catalog import Entry


@dataclass
class RunPlan:
    config: TrainConfig
    model: Model
    model_entry: Entry
    step: TrainStep
    loss: Loss
    loss_entry: Entry
    loss_config: dict[str, Any]
    store: DataStore
    folder: RunFolder
    device: torch.device
    # ``--augment``: the built augmentation (``augment.Identity`` without one) and its entry.
    augment: Augment = field(default_factory=Identity)
    augment_entry: Entry | None = None
    # This process's rank in a torchrun run (a single process by default).
    ranks: Ranks = SINGLE

    def split_options(self) -> tuple[dict[str, Any], dict[str, Any]]:
        from ganzoo.core.build import split_options

        return split_options(self.model_entry, self.model.config)
