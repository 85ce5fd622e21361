"""Filling a new run's unset settings from its preset (``ganzoo.zoo.presets``).

Order of precedence, highest first: what the user gave; the preset; the loss's own training
defaults (WGAN-GP's critic steps); the family's defaults. config.json records the preset's
name and every value it set, so a resumed run never consults presets again.
"""

from __future__ import annotations

from typing import Any

from ganzoo.core.data.store import parse_spec
from ganzoo.core.errors import ConfigError, GanzooError
from ganzoo.zoo.presets import NO_PRESET, settings_text

_OPTION_MAPS = ("model_options", "loss_options")


def apply_preset(values: dict[str, Any], catalog: Any) -> str | None:
    """Set ``values["preset"]`` to the preset used (or None) and fill the settings it has
    that ``values`` leaves unset (None); in option maps, the user's keys win one by one.

    Returns the line telling the user what the preset set, for the caller to print once the
    run is accepted (a refused run shows only its one-line error)."""
    requested = values.get("preset")
    if requested is not None and not isinstance(requested, str):
        raise ConfigError("--preset must be a preset name or 'none'")
    if requested == NO_PRESET:
        values["preset"] = None
        return None
    model = values["model"]
    if requested:
        entry = catalog.preset(requested)
        if model not in entry.info.models:
            raise ConfigError(
                f"preset {requested!r} is for {', '.join(entry.info.models)}, not {model!r}"
            )
        why = "asked for"
    else:
        try:
            name = parse_spec(values["dataset"])[0]
            kind = catalog.dataset(name).info.data_kind
        except GanzooError:
            values["preset"] = None
            return None  # an unknown data set is reported, with suggestions, when resolved
        entry = catalog.default_preset(model, name, kind)
        if entry is None:
            values["preset"] = None
            return None
        why = f"the default for {model} on {name}"
    settings = entry.info.settings
    applied = _fill(values, settings, _skipped(values, settings, catalog))
    values["preset"] = entry.name
    if not applied:
        return None
    return (
        f"preset {entry.name!r} ({why}; --preset none for plain defaults): {settings_text(applied)}"
    )


def _skipped(values: dict[str, Any], settings: Any, catalog: Any) -> set[str]:
    """A user who names another loss than the preset's gets that loss's own training defaults
    (WGAN-GP's five critic steps and betas) and options, not the preset's."""
    loss = values.get("loss")
    if not isinstance(loss, str) or "loss" not in settings or loss == settings["loss"]:
        return set()
    return set(catalog.loss(loss).info.train_defaults) | {"loss_options"}


def _fill(values: dict[str, Any], settings: Any, skip: set[str]) -> dict[str, Any]:
    applied: dict[str, Any] = {}
    for key, value in settings.items():
        if key in skip:
            continue
        if key in _OPTION_MAPS:
            given = values.get(key) or {}
            if not isinstance(given, dict):
                continue  # TrainConfig.check says what is wrong
            new = {k: v for k, v in value.items() if k not in given}
            values[key] = {**new, **given}
            if new:
                applied[key] = new
            continue
        if values.get(key) is not None:
            continue
        if key == "steps" and values.get("epochs") is not None:
            continue  # the user chose the length in epochs
        values[key] = _convert(key, value)
        applied[key] = value
    return applied


def _convert(key: str, value: Any) -> Any:
    """Settings are written as a user types them; a regulariser spec becomes the mapping the
    command line builds from ``--reg``."""
    if key == "reg":
        from ganzoo.core.training.regularizers import parse_reg

        name, options = parse_reg(value)
        return {"name": name, "options": options}
    return value  # numbers become floats where TrainConfig.check checks them
