"""What plugins register: cheap descriptors, never built networks.

A descriptor names a factory either as a callable or as an import string
``"package.module:attribute"`` resolved on first use, so registering (and ``ganzoo list``)
never imports torch.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ganzoo.core.data.fields import check_field_names
from ganzoo.core.errors import ConfigError
from ganzoo.zoo.families import GAN_NETWORKS, GAN_OPTIMIZERS, OptimizerGroup, check_family

_TYPES = {"int": int, "float": float, "str": str, "bool": bool}
_WORDS = {"int": "a whole number", "float": "a number", "str": "a string"}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Option:
    """One configurable value of a model or a loss, with its type, default and limits."""

    name: str
    type: str
    default: Any
    help: str = ""
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None

    def __post_init__(self) -> None:
        if self.type not in _TYPES:
            raise ValueError(f"option {self.name!r}: type must be one of {sorted(_TYPES)}")
        for bound in (self.minimum, self.maximum):
            if bound is not None and (
                isinstance(bound, bool)
                or not isinstance(bound, int | float)
                or not math.isfinite(bound)
            ):
                raise ValueError(f"option {self.name!r}: bounds must be finite numbers")

    def parse(self, raw: Any, owner: str = "", strict: bool = False) -> Any:
        """Convert ``raw`` (a string from the command line, or a Python value) and check it.

        ``strict`` (values read from a file: a checkpoint, config.json) takes no conversions:
        the value must already have the option's JSON type.
        """
        where = f"{owner} option {self.name!r}" if owner else f"option {self.name!r}"
        value = _strict(raw, self.type, where) if strict else _convert(raw, self.type, where)
        if self.type == "float" and not math.isfinite(value):
            raise ConfigError(f"{where} must be a finite number; got {value!r}")
        if self.choices is not None and value not in self.choices:
            allowed = ", ".join(str(c) for c in self.choices)
            raise ConfigError(f"{where} must be one of {allowed}; got {value!r}")
        if self.minimum is not None and value < self.minimum:
            raise ConfigError(f"{where} must be at least {self.minimum}; got {value!r}")
        if self.maximum is not None and value > self.maximum:
            raise ConfigError(f"{where} must be at most {self.maximum}; got {value!r}")
        return value

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type, "default": self.default}
        if self.help:
            out["help"] = self.help
        if self.choices is not None:
            out["choices"] = list(self.choices)
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        return out


def _strict(raw: Any, kind: str, where: str) -> Any:
    expected = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,)}[kind]
    if (isinstance(raw, bool) and kind != "bool") or not isinstance(raw, expected):
        word = _WORDS.get(kind, "true or false")
        raise ConfigError(f"{where} must be {word}; got {raw!r}")
    return float(raw) if kind == "float" else raw


def _convert(raw: Any, kind: str, where: str) -> Any:
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ConfigError(f"{where} must be true or false; got {raw!r}")
    if (kind == "int" and isinstance(raw, float) and not raw.is_integer()) or (
        isinstance(raw, bool) and kind != "str"
    ):
        raise ConfigError(f"{where} must be {_WORDS[kind]}; got {raw!r}")
    try:
        return _TYPES[kind](raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{where} must be {_WORDS[kind]}; got {raw!r}") from None


def resolve_options(
    options: tuple[Option, ...], given: Mapping[str, Any], owner: str, strict: bool = False
) -> dict[str, Any]:
    """Defaults overlaid with ``given``; unknown names and bad values raise ``ConfigError``.

    ``strict``: ``given`` was read from a file, so every value must have its JSON type.
    """
    known = {o.name: o for o in options}
    unknown = sorted(set(given) - set(known))
    if unknown:
        names = ", ".join(sorted(known)) or "none"
        raise ConfigError(f"{owner} has no option {unknown[0]!r} (its options: {names})")
    return {
        name: opt.parse(given[name], owner, strict) if name in given else opt.default
        for name, opt in known.items()
    }


def resolve_factory(target: str | Callable[..., Any]) -> Callable[..., Any]:
    """Turn an import string ``"pkg.mod:attr"`` into the object it names."""
    if callable(target):
        return target
    module_name, _, attr = target.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


def _check_common(info: Any) -> None:
    if not isinstance(info.name, str) or not info.name or any(c.isspace() for c in info.name):
        raise ValueError(f"invalid name {info.name!r}: a non-empty string without spaces")
    if not (callable(info.factory) or (isinstance(info.factory, str) and ":" in info.factory)):
        raise ValueError(f"{info.name}: factory must be a callable or 'module:attribute'")


@dataclass(frozen=True)
class ModelInfo:
    """A GAN family: ``factory(data_shape, **options)`` returns a ``ganzoo.Model`` (a
    ``ganzoo.GAN`` for the classic generator + discriminator pair) whose attributes named in
    ``networks`` are its networks.

    ``data_shape`` is ``(channels, height, width)`` for images or ``(dim,)`` for points.
    ``optimizers`` group the networks into Adam optimisers with the family's own defaults;
    ``ema`` names the networks whose weights are averaged when ``--ema`` is on; ``needs``
    are the batch fields it trains on (``ganzoo.core.data.fields.FIELDS``); ``use`` is what a
    trained model is for (``ganzoo.zoo.families.USES``); ``default_loss`` applies when the
    user names none. ``train_step`` names a ``ganzoo.core.training.steps.TrainStep`` subclass, built
    as ``train_step(**step_options)``; without one the alternating D/G step runs.
    """

    name: str
    description: str
    factory: str | Callable[..., Any]
    data_kinds: tuple[str, ...] = ("image",)
    options: tuple[Option, ...] = ()
    default_resolution: int = 64
    reference: str = ""
    train_step: str | Callable[..., Any] | None = None
    networks: tuple[str, ...] = GAN_NETWORKS
    optimizers: tuple[OptimizerGroup, ...] = GAN_OPTIMIZERS
    ema: tuple[str, ...] = ("generator",)
    use: str = "noise"
    needs: tuple[str, ...] = ("x",)
    default_loss: str | None = None
    step_options: tuple[Option, ...] = ()
    # use "translate": direction ("AtoB"/"BtoA") -> the network that translates that way;
    # a family with one network for the trained direction maps "" to it.
    translators: Mapping[str, str] = field(default_factory=dict)
    # The data set a run uses when none is named; None: the embedded set for ``needs``
    # (ganzoo.core.data.fields.default_dataset).
    default_dataset: str | None = None
    kind: str = field(default="model", init=False)

    def __post_init__(self) -> None:
        _check_common(self)
        bad = set(self.data_kinds) - {"image", "points"}
        if bad or not self.data_kinds:
            raise ValueError(f"{self.name}: data_kinds must be drawn from 'image', 'points'")
        check_family(self, self.name)
        clash = {o.name for o in self.options} & {o.name for o in self.step_options}
        if clash:
            raise ValueError(f"{self.name}: option {sorted(clash)[0]!r} is declared twice")

    @property
    def all_options(self) -> tuple[Option, ...]:
        """Network and step options: one namespace for the user (``-o KEY=VALUE``)."""
        return tuple(self.options) + tuple(self.step_options)


@dataclass(frozen=True)
class LossInfo:
    """An adversarial loss: ``factory(**options)`` returns a ``ganzoo.Loss``.

    ``train_defaults`` are the training settings the loss works best with (WGAN-GP: five
    critic steps, Adam betas (0, 0.9)); they apply when the user does not set them. Keys:
    ``TRAIN_DEFAULT_KEYS``.
    """

    name: str
    description: str
    factory: str | Callable[..., Any]
    options: tuple[Option, ...] = ()
    formula: str = ""
    reference: str = ""
    train_defaults: Mapping[str, Any] = field(default_factory=dict)
    kind: str = field(default="loss", init=False)

    def __post_init__(self) -> None:
        _check_common(self)
        check_train_defaults(self.train_defaults, self.name)


TRAIN_DEFAULT_KEYS = {"d_steps": int, "beta1": float, "beta2": float, "lr_g": float, "lr_d": float}


def check_train_defaults(values: Any, owner: str) -> None:
    """``values`` maps some of ``TRAIN_DEFAULT_KEYS`` to numbers of their type."""
    if not isinstance(values, Mapping):
        raise ValueError(f"{owner}: train_defaults must be a mapping")
    for key, value in values.items():
        kind = TRAIN_DEFAULT_KEYS.get(key)
        if kind is None:
            raise ValueError(f"{owner}: train_defaults has no setting {key!r}")
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or (kind is int and not isinstance(value, int)):
            raise ValueError(f"{owner}: train_defaults {key!r} must be a {kind.__name__}")


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset source for specs ``NAME`` or ``NAME:ARGUMENT``.

    ``factory(request)`` takes a ``ganzoo.core.data.store.DataRequest`` and returns a
    ``ganzoo.core.data.store.DataStore``. ``data_kind`` is ``"image"`` or ``"points"``.
    ``provides`` are the batch fields it can give (``ganzoo.core.data.fields.FIELDS``); a source
    that gives one only in some cases (labels from class subfolders) lists it and refuses
    a request that needs it, before decoding, when it cannot.
    """

    name: str
    description: str
    factory: str | Callable[..., Any]
    data_kind: str = "image"
    argument: str | None = None
    argument_required: bool = False
    provides: tuple[str, ...] = ("x",)
    kind: str = field(default="dataset", init=False)

    def __post_init__(self) -> None:
        _check_common(self)
        check_field_names(self.provides, self.name, "provides")
        if self.data_kind not in ("image", "points"):
            raise ValueError(f"{self.name}: data_kind must be 'image' or 'points'")


@dataclass(frozen=True)
class AugmentInfo:
    """An augmentation of the images the discriminator sees (``--augment NAME:KEY=VALUE``):
    ``factory(**options)`` returns a ``ganzoo.core.training.augment.Augment``.

    It is applied to real and generated images alike, in D's update and in G's, by the
    training steps that declare ``supports_augment``; image data only.
    """

    name: str
    description: str
    factory: str | Callable[..., Any]
    options: tuple[Option, ...] = ()
    formula: str = ""
    reference: str = ""
    kind: str = field(default="augment", init=False)

    def __post_init__(self) -> None:
        _check_common(self)


@dataclass(frozen=True)
class MetricInfo:
    """An evaluation metric: ``factory(**options)`` returns a
    ``ganzoo.core.evaluation.evaluate.Metric``.

    ``data_kind`` is the kind of data it measures (``"image"`` or ``"points"``); ``default``
    metrics run when ``ganzoo eval`` is given no ``--metrics``.
    """

    name: str
    description: str
    factory: str | Callable[..., Any]
    data_kind: str = "image"
    options: tuple[Option, ...] = ()
    default: bool = True
    reference: str = ""
    kind: str = field(default="metric", init=False)

    def __post_init__(self) -> None:
        _check_common(self)
        if self.data_kind not in ("image", "points"):
            raise ValueError(f"{self.name}: data_kind must be 'image' or 'points'")
