"""The catalog: every model, loss and dataset source the loaded plugins registered.

Each plugin's hooks are called one plugin at a time with a ``register`` callback that
records attribution, checks every field of each descriptor (so nothing a plugin registers
can break ``ganzoo list``) and rejects duplicates. A plugin whose hook raises anything but
``KeyboardInterrupt`` (or registers an invalid descriptor, or a name another plugin already
has) is marked failed and none of its registrations are kept, so the catalog never holds
half a plugin.
"""

from __future__ import annotations

import contextlib
import difflib
import fnmatch
import sys
from dataclasses import dataclass
from typing import Any

from ganzoo.core.errors import UnknownNameError
from ganzoo.zoo.descriptors import DatasetInfo, LossInfo, MetricInfo, ModelInfo, Option
from ganzoo.zoo.plugins import (
    PluginRecord,
    describe,
    fail,
    is_interrupt,
    load_plugins,
    new_plugin_manager,
)

KINDS = ("model", "loss", "dataset", "metric")
_HOOKS = {
    "register_models": ("model", ModelInfo),
    "register_losses": ("loss", LossInfo),
    "register_datasets": ("dataset", DatasetInfo),
    "register_metrics": ("metric", MetricInfo),
}


@dataclass(frozen=True)
class Entry:
    """A registered descriptor and the plugin that gave it."""

    info: Any
    plugin: PluginRecord

    @property
    def kind(self) -> str:
        return self.info.kind

    @property
    def name(self) -> str:
        return self.info.name

    def as_dict(self) -> dict[str, Any]:
        out = {
            "kind": self.kind,
            "name": self.name,
            "description": self.info.description,
            "plugin": self.plugin.name,
            "distribution": self.plugin.distribution,
            "version": self.plugin.version,
        }
        options = getattr(self.info, "options", ())
        if options:
            out["options"] = [o.as_dict() for o in options]
        return out


class DuplicateNameError(Exception):
    pass


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
    if kind == "metric":
        _require(isinstance(info.default, bool), owner, "default must be a bool", info.default)


def _and(labels: list[str], limit: int = 3) -> str:
    """``a``, ``a and b``, ``a, b and c``, ``a, b, c and 2 more``."""
    shown, rest = labels[:limit], len(labels) - limit
    if rest > 0:
        return f"{', '.join(shown)} and {rest} more"
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"


class Catalog:
    def __init__(self) -> None:
        self.plugins: list[PluginRecord] = []
        self._entries: dict[str, dict[str, Entry]] = {kind: {} for kind in KINDS}

    @classmethod
    def from_entry_points(cls, entry_points: list | None = None) -> Catalog:
        catalog = cls()
        pm = new_plugin_manager()
        catalog.plugins = load_plugins(pm, entry_points)
        for record in catalog.plugins:
            if record.status == "ok":
                catalog._register_plugin(pm, record)
        return catalog

    def _register_plugin(self, pm: Any, record: PluginRecord) -> None:
        staged: list[Entry] = []

        def make_register(kind: str, info_type: type, problems: list[str], open_: list[bool]):
            def register(info: Any, **_future: Any) -> None:
                try:
                    if not open_:
                        raise RuntimeError("register called after the hook returned")
                    # type(), not isinstance(): an object can claim any __class__.
                    if not issubclass(type(info), info_type):
                        raise TypeError(
                            f"expected a {info_type.__name__}, got {type(info).__name__}"
                        )
                    check_descriptor(info, kind)
                except BaseException as exc:
                    problems.append(describe(exc))
                    raise
                taken = self._entries[kind].get(info.name) or next(
                    (e for e in staged if e.kind == kind and e.name == info.name), None
                )
                if taken is not None:
                    message = (
                        f"{kind} {info.name!r} from plugin {record.label} is already "
                        f"registered by plugin {taken.plugin.label}"
                    )
                    problems.append(f"duplicate name: {message}")
                    raise DuplicateNameError(message)
                staged.append(Entry(info, record))

            return register

        for hook_name in record.hooks:
            if hook_name not in _HOOKS:
                continue
            kind, info_type = _HOOKS[hook_name]
            impl = next(
                (
                    i
                    for i in getattr(pm.hook, hook_name).get_hookimpls()
                    if i.plugin is record.module_object
                ),
                None,
            )
            if impl is None:
                continue
            problems: list[str] = []
            open_ = [True]
            try:
                # Whatever a hook prints goes to stderr: stdout may be JSON.
                with contextlib.redirect_stdout(sys.stderr):
                    impl.function(register=make_register(kind, info_type, problems, open_))
            except DuplicateNameError as exc:
                fail(record, f"duplicate name: {exc}")
            except BaseException as exc:  # SystemExit too: a hook must not break the catalog
                if is_interrupt(exc):
                    raise
                fail(record, f"hook {hook_name} raised {describe(exc)}")
            else:
                if problems:  # the hook caught what register raised and carried on
                    fail(record, f"hook {hook_name} ignored an error from register: {problems[0]}")
            finally:
                open_.clear()
            if record.status == "failed":
                return
        for entry in staged:
            self._entries[entry.kind][entry.name] = entry
            record.provides.append(f"{entry.kind}:{entry.name}")

    def failed_plugins(self) -> list[PluginRecord]:
        return [record for record in self.plugins if record.status == "failed"]

    def names(self, kind: str) -> list[str]:
        return sorted(self._entries[kind])

    def entries(self, kind: str | None = None, pattern: str | None = None) -> list[Entry]:
        kinds = KINDS if kind is None else (kind,)
        out = []
        for k in kinds:
            for name in sorted(self._entries[k]):
                if pattern is None or fnmatch.fnmatchcase(name, pattern):
                    out.append(self._entries[k][name])
        return out

    def get(self, kind: str, name: str) -> Entry:
        entry = self._entries[kind].get(name)
        if entry is not None:
            return entry
        close = difflib.get_close_matches(name, self.names(kind), n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        available = ", ".join(self.names(kind)) or "none installed"
        word = "dataset source" if kind == "dataset" else kind
        message = f"unknown {word} {name!r}{hint} (available: {available})"
        failed = self.failed_plugins()
        if failed:
            plugins = "plugin" if len(failed) == 1 else "plugins"
            message += (
                f"; {plugins} {_and([r.label for r in failed])} failed to load and may have "
                "provided it (see `ganzoo plugins`)"
            )
        raise UnknownNameError(message)

    def model(self, name: str) -> Entry:
        return self.get("model", name)

    def loss(self, name: str) -> Entry:
        return self.get("loss", name)

    def dataset(self, name: str) -> Entry:
        return self.get("dataset", name)

    def metric(self, name: str) -> Entry:
        return self.get("metric", name)


_CATALOG: Catalog | None = None


def get_catalog() -> Catalog:
    """The process-wide catalog, built on first use."""
    global _CATALOG
    if _CATALOG is None:
        _CATALOG = Catalog.from_entry_points()
    return _CATALOG


def reset_catalog() -> None:
    """Forget the cached catalog (tests change installed plugins and the environment)."""
    global _CATALOG
    _CATALOG = None
