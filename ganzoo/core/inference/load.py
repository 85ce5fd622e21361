"""A checkpoint -> the object its family is used through (``ganzoo.load``).

The file is checked against the model it describes (``planned_model``) before anything is
allocated; then the real model is built and every network loaded, the averaged weights
where the run kept them and ``ema`` asks for them.
"""

from __future__ import annotations

from typing import Any

from ganzoo.core.build import build_model
from ganzoo.core.checkpoints import Checkpoint
from ganzoo.core.checkpoints.model import ema_prefix, planned_model
from ganzoo.core.device import resolve_device
from ganzoo.core.interfaces import Model
from ganzoo.zoo.catalog import get_catalog


def load_model(path: str, device: str = "cpu", ema: bool = True) -> tuple[Model, Any, Checkpoint]:
    """The checkpoint's whole model with every network loaded, in eval mode on ``device``;
    its descriptor and the checkpoint. ``model.weights`` is "ema" when averaged weights
    replaced any network."""
    target = resolve_device(device)
    checkpoint = Checkpoint(path)
    planned = planned_model(checkpoint)
    info = get_catalog().model(planned.name).info
    config = dict(planned.config)
    data_shape = config.pop("data_shape")
    model, _ = build_model(planned.name, data_shape, config, strict=True, sized=True)
    averaged = False
    for name in info.networks:
        prefix = name
        if (
            ema
            and name in info.ema
            and any(key.startswith(ema_prefix(name) + ".") for key in checkpoint.keys)
        ):
            prefix, averaged = ema_prefix(name), True
        model.network(name).load_state_dict(checkpoint.tensors(prefix))
    model.eval().to(target)
    model.weights = "ema" if averaged else "raw"
    model.classes = planned.classes
    return model, info, checkpoint


def load_checkpoint(path: str, device: str = "cpu", ema: bool = True) -> Any:
    model, info, checkpoint = load_model(path, device, ema)
    metadata = {k: v for k, v in checkpoint.raw.items() if not k.startswith("optim.")}
    if info.use == "translate":
        from ganzoo.core.inference.translation import Translator

        used = Translator(model, info.translators, metadata)
    elif info.use == "restore":
        from ganzoo.core.inference.translation import Restorer

        used = Restorer(model, metadata)
    else:
        used = model.network("generator")
    used.weights = model.weights
    used.checkpoint = metadata
    used.data_kind = checkpoint.data_kind
    used.classes = model.classes
    used.use = info.use
    return used
