"""Presets: training settings that work for a family on a kind of data, chosen by measurement.

A preset is registered like any other plugin contribution (``register_presets``), so a
third-party family ships the settings that make it work, and a third party can offer a better
recipe for a built-in family. A run whose model and data set match a preset's ``models`` and
``datasets`` uses it unless the user names another (``--preset NAME``) or none
(``--preset none``); an explicitly given setting always beats the preset's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# What a preset may set, and the JSON type each value must have. Everything else (seed,
# device, output) belongs to the user's run, not to a recipe.
PRESET_KEYS: dict[str, tuple[type, ...]] = {
    "loss": (str,),
    "loss_options": (dict,),
    "model_options": (dict,),
    "steps": (int,),
    "batch_size": (int,),
    "d_steps": (int,),
    "lr_g": (int, float),
    "lr_d": (int, float),
    "beta1": (int, float),
    "beta2": (int, float),
    "ema": (int, float),
    "lr_decay": (int, float),
    "augment": (str,),
    "reg": (str,),
    "resolution": (int,),
}
NO_PRESET = "none"
# The optimiser of the two-minute recipes (dcgan-quickstart, pix2pix-quickstart): ten times
# DCGAN's learning rate with StyleGAN2's Adam betas, falling to 0 over the second half. A
# preset spreads it into its settings: {..., **FAST_ADAM, ...}.
FAST_ADAM: dict[str, float] = {
    "lr_g": 2e-3,
    "lr_d": 2e-3,
    "beta1": 0.0,
    "beta2": 0.99,
    "lr_decay": 0.5,
}
DATA_KINDS = ("image", "points")
_SCALARS = (str, int, float, bool)


@dataclass(frozen=True)
class PresetInfo:
    """Settings (``PRESET_KEYS``) for the families in ``models``.

    ``datasets`` says where the preset is the default: dataset source names (``ring8``,
    ``folder``, ``shapes``) or data kinds (``image``, ``points``); a source name beats a data
    kind, so a preset tuned for one data set can refine a family's general one. Empty: used
    only when named with ``--preset``. ``evidence`` says what was measured, with the command,
    so a user can judge the claim; ``ganzoo list`` and ``ganzoo train --help`` show it.
    """

    name: str
    description: str
    models: tuple[str, ...]
    settings: Mapping[str, Any]
    datasets: tuple[str, ...] = ()
    evidence: str = ""
    kind: str = field(default="preset", init=False)

    def __post_init__(self) -> None:
        check_preset(self)

    def summary(self) -> str:
        """The settings as the flags a user would type, in one line."""
        return settings_text(self.settings)


def _fail(name: Any, what: str, value: Any) -> None:
    text = " ".join(repr(value).split())
    text = text if len(text) <= 60 else text[:57] + "..."
    raise ValueError(f"preset {name!r}: {what}, got {type(value).__name__} {text}")


def _names(value: Any, name: Any, what: str, allow_empty: bool) -> None:
    ok = isinstance(value, tuple | list) and (allow_empty or bool(value))
    ok = ok and all(isinstance(v, str) and v and not any(c.isspace() for c in v) for v in value)
    if not ok:
        _fail(name, f"{what} must be a tuple of names", value)


def check_preset(info: Any) -> None:
    """Raise ``ValueError`` unless every field has its documented type (the catalog checks
    again what a plugin hands it: a frozen dataclass can be changed behind its back)."""
    name = info.name
    if not isinstance(name, str) or not name or any(c.isspace() for c in name):
        raise ValueError(f"invalid preset name {name!r}: a non-empty string without spaces")
    if name == NO_PRESET:
        raise ValueError(f"a preset may not be called {NO_PRESET!r}: that name means no preset")
    for text_field in ("description", "evidence"):
        if not isinstance(getattr(info, text_field), str):
            _fail(name, f"{text_field} must be a string", getattr(info, text_field))
    _names(info.models, name, "models", allow_empty=False)
    _names(info.datasets, name, "datasets", allow_empty=True)
    settings = info.settings
    if not isinstance(settings, Mapping) or not settings:
        _fail(name, "settings must be a non-empty mapping", settings)
    for key, value in settings.items():
        types = PRESET_KEYS.get(key)
        if types is None:
            _fail(name, f"settings may hold only {', '.join(sorted(PRESET_KEYS))}", key)
        if isinstance(value, bool) or not isinstance(value, types):
            _fail(name, f"setting {key!r} has the wrong type", value)
        if isinstance(value, dict) and not all(
            isinstance(k, str) and isinstance(v, _SCALARS) for k, v in value.items()
        ):
            _fail(name, f"setting {key!r} must map names to scalars", value)


def settings_text(settings: Mapping[str, Any]) -> str:
    parts = []
    for key, value in settings.items():
        if isinstance(value, dict):
            flag = {"model_options": "-o", "loss_options": "--loss-option"}[key]
            parts += [f"{flag} {k}={_value_text(v)}" for k, v in value.items()]
        else:
            parts.append(f"--{key.replace('_', '-')} {_value_text(value)}")
    return " ".join(parts)


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def match_rank(info: PresetInfo, model: str, dataset: str, data_kind: str) -> int:
    """2: the preset is the default for this data set by name; 1: by its data kind; 0: not a
    default here."""
    if model not in info.models:
        return 0
    if dataset in info.datasets:
        return 2
    return 1 if data_kind in info.datasets else 0
