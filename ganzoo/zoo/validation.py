"""Check every field of a descriptor a plugin registers, before the catalog keeps it.

A descriptor comes from a plugin ganzoo does not control, and ``ganzoo list`` (its table
and its JSON) and the commands read its fields without further checks; a field of the
wrong type would break them for every plugin, so the catalog refuses such a descriptor
and fails only the plugin that registered it.
"""

from __future__ import annotations

from typing import Any

from ganzoo.core.data.fields import check_field_names
from ganzoo.zoo.descriptors import Option, check_train_defaults
from ganzoo.zoo.families import check_family
from ganzoo.zoo.presets import check_preset

_SCALARS = (str, int, float, bool, type(None))
_DATA_KINDS = ("image", "points")
_SEQUENCES = (tuple, list)  # tuples are documented; lists always worked, so they still do


def _short(value: Any) -> str:
    try:
        text = " ".join(repr(value).split())
    except Exception:
        text = "(unprintable)"
    return text if len(text) <= 60 else text[:57] + "..."


def _require(ok: bool, owner: str, what: str, value: Any) -> None:
    if not ok:
        raise ValueError(f"{owner}: {what}, got {type(value).__name__} {_short(value)}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_name(value: Any, what: str) -> None:
    if not isinstance(value, str) or not value or any(c.isspace() for c in value):
        raise ValueError(f"invalid {what} {_short(value)}: a non-empty string without spaces")


def _check_option(option: Any, owner: str) -> None:
    _require(issubclass(type(option), Option), owner, "options must hold Option objects", option)
    _check_name(option.name, f"{owner} option name")
    where = f"{owner} option {option.name!r}"
    _require(
        isinstance(option.type, str) and option.type in ("int", "float", "str", "bool"),
        where,
        "type must be 'int', 'float', 'str' or 'bool'",
        option.type,
    )
    _require(
        isinstance(option.default, _SCALARS), where, "default must be a scalar", option.default
    )
    _require(isinstance(option.help, str), where, "help must be a string", option.help)
    choices = option.choices
    _require(
        choices is None or isinstance(choices, _SEQUENCES),
        where,
        "choices must be a tuple",
        choices,
    )
    for choice in choices or ():
        _require(isinstance(choice, _SCALARS), where, "choices must be scalars", choice)
    for bound in ("minimum", "maximum"):
        value = getattr(option, bound, None)
        _require(value is None or _is_number(value), where, f"{bound} must be a number", value)


_TEXT_FIELDS = {
    "model": ("description", "reference"),
    "loss": ("description", "formula", "reference"),
    "dataset": ("description",),
    "metric": ("description", "reference"),
    "augment": ("description", "formula", "reference"),
}


def check_descriptor(info: Any, kind: str) -> None:
    """Raise ``ValueError`` unless every field that ``ganzoo list`` (its table and its JSON)
    and the commands read has its documented type.

    The descriptors check most of this when constructed, but a frozen dataclass can still be
    changed behind its back (``object.__setattr__``), so the host checks what it is given.
    """
    _check_name(info.name, f"{kind} name")
    owner = f"{kind} {info.name!r}"
    _require(info.kind == kind, owner, f"kind must be {kind!r}", info.kind)
    if kind == "preset":
        check_preset(info)
        return
    factory = info.factory
    _require(
        callable(factory) or (isinstance(factory, str) and ":" in factory),
        owner,
        "factory must be a callable or 'module:attribute'",
        factory,
    )
    for field_name in _TEXT_FIELDS[kind]:
        value = getattr(info, field_name)
        _require(isinstance(value, str), owner, f"{field_name} must be a string", value)
    if kind != "dataset":
        options = info.options
        _require(isinstance(options, _SEQUENCES), owner, "options must be a tuple", options)
        if kind == "model":
            steps = info.step_options
            _require(isinstance(steps, _SEQUENCES), owner, "step_options must be a tuple", steps)
            options = tuple(options) + tuple(steps)
        seen: set[str] = set()
        for option in options:
            _check_option(option, owner)
            _require(option.name not in seen, owner, "option names must be unique", option.name)
            seen.add(option.name)
    if kind == "model":
        kinds = info.data_kinds
        _require(
            isinstance(kinds, _SEQUENCES)
            and bool(kinds)
            and all(isinstance(k, str) and k in _DATA_KINDS for k in kinds),
            owner,
            "data_kinds must be a tuple drawn from 'image', 'points'",
            kinds,
        )
        resolution = info.default_resolution
        _require(
            isinstance(resolution, int) and not isinstance(resolution, bool) and resolution > 0,
            owner,
            "default_resolution must be a positive whole number",
            resolution,
        )
        step = info.train_step
        _require(
            step is None or callable(step) or (isinstance(step, str) and ":" in step),
            owner,
            "train_step must be None, a callable or 'module:attribute'",
            step,
        )
        check_family(info, owner)
    if kind == "loss":
        check_train_defaults(info.train_defaults, owner)
    if kind in ("dataset", "metric"):
        data_kind = info.data_kind
        _require(
            isinstance(data_kind, str) and data_kind in _DATA_KINDS,
            owner,
            "data_kind must be 'image' or 'points'",
            data_kind,
        )
    if kind == "dataset":
        argument, required = info.argument, info.argument_required
        _require(
            argument is None or isinstance(argument, str),
            owner,
            "argument must be a string",
            argument,
        )
        _require(isinstance(required, bool), owner, "argument_required must be a bool", required)
        check_field_names(info.provides, owner, "provides")
    if kind == "metric":
        _require(isinstance(info.default, bool), owner, "default must be a bool", info.default)
