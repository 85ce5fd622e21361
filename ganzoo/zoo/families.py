"""What a model plugin declares about its family, beyond its factory and options.

A family names its networks (any number), groups them into optimisers with their own
defaults, says which networks keep an exponential moving average, which batch fields it
trains on and what it is used for. All of it is plain data, checked when registered, so
``ganzoo list`` shows it without importing torch.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ganzoo.core.data.fields import check_field_names

# What a trained model is for; `ganzoo.load` returns an object that fits.
USES = {
    "noise": "generates images (or points) from noise",
    "class": "generates images of a chosen class",
    "translate": "translates an image into another (sketch -> picture, style A <-> B)",
    "restore": "fills the masked parts of an image",
}
ROLES = ("generator", "discriminator")
# A network's tensors are stored under its name; these prefixes belong to the trainer.
_RESERVED = {"optim", "rng", "metrics", "step_state"}
_NETWORK_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True)
class OptimizerGroup:
    """One Adam optimiser over the parameters of ``networks``, stored as ``optim.<name>``.

    ``role`` says which command-line settings apply to it: ``--lr-g`` (and the loss's
    generator settings) for "generator", ``--lr-d`` for "discriminator"; ``--beta1`` and
    ``--beta2`` apply to both. ``lr`` and ``betas`` are the family's own defaults.
    """

    name: str
    networks: tuple[str, ...]
    role: str = "generator"
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)

    def __post_init__(self) -> None:
        check_group(self, "optimizer group")


def _fail(owner: str, text: str) -> None:
    raise ValueError(f"{owner}: {text}")


def check_network_name(name: Any, owner: str) -> None:
    if not isinstance(name, str) or not _NETWORK_NAME.match(name):
        _fail(owner, f"network name {str(name)[:40]!r} must be lower-case letters, digits, _")
    if name in _RESERVED or name.endswith("_ema"):
        _fail(owner, f"network name {name!r} is reserved (optim, rng, metrics, step_state, *_ema)")


def check_group(group: Any, owner: str) -> None:
    if not isinstance(group, OptimizerGroup):
        _fail(owner, "optimizers must hold OptimizerGroup objects")
    check_network_name(group.name, owner)
    if not isinstance(group.networks, tuple | list) or not group.networks:
        _fail(owner, f"optimizer group {group.name!r} needs a tuple of network names")
    for net in group.networks:
        check_network_name(net, owner)
    if group.role not in ROLES:
        _fail(owner, f"optimizer group {group.name!r}: role must be generator or discriminator")
    lr = group.lr
    if not isinstance(lr, int | float) or isinstance(lr, bool) or not (0 < lr <= 10):
        _fail(owner, f"optimizer group {group.name!r}: lr must be a number in (0, 10]")
    betas = group.betas
    if (
        not isinstance(betas, tuple | list)
        or len(betas) != 2
        or not all(
            isinstance(b, int | float)
            and not isinstance(b, bool)
            and math.isfinite(b)
            and 0 <= b < 1
            for b in betas
        )
    ):
        _fail(owner, f"optimizer group {group.name!r}: betas must be two numbers in [0, 1)")


def check_family(info: Any, owner: str) -> None:
    """The family fields of a ModelInfo agree with each other."""
    networks = info.networks
    if not isinstance(networks, tuple | list) or not networks:
        _fail(owner, "networks must be a non-empty tuple of names")
    for name in networks:
        check_network_name(name, owner)
    if len(set(networks)) != len(networks):
        _fail(owner, "network names must be distinct")
    groups = info.optimizers
    if not isinstance(groups, tuple | list) or not groups:
        _fail(owner, "optimizers must be a non-empty tuple of OptimizerGroup")
    owned: set[str] = set()
    for group in groups:
        check_group(group, owner)
        for net in group.networks:
            if net not in networks:
                _fail(owner, f"optimizer group {group.name!r} names unknown network {net!r}")
            if net in owned:
                _fail(owner, f"network {net!r} is in two optimizer groups")
            owned.add(net)
    if len({g.name for g in groups}) != len(groups):
        _fail(owner, "optimizer group names must be distinct")
    ema = info.ema
    if not isinstance(ema, tuple | list) or any(net not in networks for net in ema):
        _fail(owner, "ema must be a tuple of the family's network names")
    if not isinstance(info.use, str) or info.use not in USES:
        _fail(owner, f"use must be one of {', '.join(USES)}")
    needs = check_field_names(info.needs, owner, "needs")
    if info.use == "class" and "label" not in needs:
        _fail(owner, "a model used for classes needs the 'label' field")
    translators = info.translators
    if not isinstance(translators, Mapping) or any(
        key not in ("", "AtoB", "BtoA") or net not in networks for key, net in translators.items()
    ):
        _fail(owner, "translators must map '', 'AtoB' or 'BtoA' to one of the family's networks")
    if info.use == "translate" and not translators:
        _fail(owner, "a model used to translate names its translators")
    if info.use == "restore" and "generator" not in networks:
        _fail(owner, "a model used to restore needs a network named 'generator'")
    dataset = info.default_dataset
    if dataset is not None and (not isinstance(dataset, str) or not dataset or " " in dataset):
        _fail(owner, "default_dataset must be None or a dataset spec")
    loss = info.default_loss
    if loss is not None and (not isinstance(loss, str) or not loss or " " in loss):
        _fail(owner, "default_loss must be None or a loss name")


GAN_NETWORKS = ("generator", "discriminator")
GAN_OPTIMIZERS = (
    OptimizerGroup("generator", ("generator",), "generator"),
    OptimizerGroup("discriminator", ("discriminator",), "discriminator"),
)
