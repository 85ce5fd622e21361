"""Discover and load plugins from the ``ganzoo`` entry-point group, each one guarded.

A broken plugin never bricks the CLI: its failure is recorded on its ``PluginRecord`` and
shown by ``ganzoo plugins``. ``GANZOO_STRICT_PLUGINS=1`` turns failures into errors;
``GANZOO_DISABLE_PLUGINS=name,other`` skips plugins by entry-point or distribution name.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from ganzoo.core.errors import PluginError
from ganzoo.zoo import hookspecs
from ganzoo.zoo.markers import PROJECT

STRICT_ENV = "GANZOO_STRICT_PLUGINS"
DISABLE_ENV = "GANZOO_DISABLE_PLUGINS"
BUILTIN_DISTRIBUTION = "ganzoo"


@dataclass
class PluginRecord:
    """One entry point of the ``ganzoo`` group and what became of it."""

    name: str
    distribution: str
    version: str
    module: str
    status: str = "ok"  # ok | failed | disabled
    errors: list[str] = field(default_factory=list)
    hooks: list[str] = field(default_factory=list)
    provides: list[str] = field(default_factory=list)
    module_object: Any = field(default=None, repr=False)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.distribution} {self.version})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "module": self.module,
            "status": self.status,
            "errors": list(self.errors),
            "hooks": list(self.hooks),
            "provides": list(self.provides),
        }


def strict_mode() -> bool:
    return os.environ.get(STRICT_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def disabled_names() -> set[str]:
    raw = os.environ.get(DISABLE_ENV, "")
    return {part.strip() for part in raw.split(",") if part.strip()}


def fail(record: PluginRecord, reason: str) -> None:
    """Mark ``record`` failed; in strict mode raise instead of carrying on."""
    # Some messages span lines (pluggy's do); one line keeps the table and strict mode whole.
    reason = " ".join(reason.split())
    record.status = "failed"
    record.errors.append(reason)
    if strict_mode():
        raise PluginError(f"plugin {record.label} failed: {reason}")


def _entry_points() -> list[metadata.EntryPoint]:
    eps = metadata.entry_points(group=PROJECT)

    def order(ep: metadata.EntryPoint) -> tuple[int, str, str]:
        dist = ep.dist.name if ep.dist is not None else ""
        # Built-ins first, so a third-party plugin that reuses a name is the one reported.
        return (0 if dist == BUILTIN_DISTRIBUTION else 1, dist.lower(), ep.name)

    seen: set[tuple[str, str]] = set()
    unique = []
    for ep in sorted(eps, key=order):
        # The same distribution can be visible twice (an editable install plus a build dir).
        key = (ep.name, ep.value)
        if key not in seen:
            seen.add(key)
            unique.append(ep)
    return unique


def _record_for(ep: metadata.EntryPoint) -> PluginRecord:
    dist = ep.dist
    return PluginRecord(
        name=ep.name,
        distribution=dist.name if dist is not None else "?",
        version=dist.version if dist is not None else "?",
        module=ep.value,
    )


def _unknown_hooks(module: Any, known: set[str]) -> list[str]:
    """Hook implementations whose name matches no specification (a likely misspelling)."""
    problems = []
    for attr in dir(module):
        fn = getattr(module, attr, None)
        opts = getattr(fn, f"{PROJECT}_impl", None)
        if opts is None or opts.get("optionalhook") or attr in known:
            continue
        close = difflib.get_close_matches(attr, sorted(known), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        problems.append(f"unknown hook {attr!r}{hint}")
    return problems


def new_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


def load_plugins(
    pm: pluggy.PluginManager, entry_points: list[metadata.EntryPoint] | None = None
) -> list[PluginRecord]:
    """Import and register every entry point on its own; return a record for each."""
    disabled = disabled_names()
    known = {name for name in dir(pm.hook) if not name.startswith("_")}
    records = []
    for ep in _entry_points() if entry_points is None else entry_points:
        record = _record_for(ep)
        records.append(record)
        if record.name in disabled or record.distribution in disabled:
            record.status = "disabled"
            continue
        try:
            module = ep.load()
        except (Exception, SystemExit) as exc:  # a broken plugin must not take the CLI down
            fail(record, f"import failed: {type(exc).__name__}: {exc}")
            continue
        unknown = _unknown_hooks(module, known)
        if unknown:
            fail(record, "; ".join(unknown))
            continue
        owner = pm.get_plugin(record.name)
        if owner is not None:
            first = next(r for r in records if r.module_object is owner)
            fail(record, f"plugin name {record.name!r} is already used by plugin {first.label}")
            continue
        try:
            pm.register(module, name=record.name)
        except Exception as exc:  # PluginValidationError, or the module registered twice
            fail(record, f"invalid hook implementation: {exc}")
            continue
        record.module_object = module
        record.hooks = sorted(caller.name for caller in pm.get_hookcallers(module) or [])
    return records
