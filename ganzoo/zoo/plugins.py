"""Import and register each ``ganzoo`` plugin with pluggy, each one guarded.

A broken plugin never bricks the CLI: its failure is recorded on its ``PluginRecord`` and
shown by ``ganzoo plugins``. A module that raises anything but ``KeyboardInterrupt`` on
import (``SystemExit`` included) or when inspected fails only itself, as do the broken
entry points and metadata that discovery finds. ``GANZOO_STRICT_PLUGINS=1`` turns failures
into errors; ``GANZOO_DISABLE_PLUGINS=name,other`` skips plugins by entry-point or
distribution name.
"""

from __future__ import annotations

import contextlib
import difflib
import inspect
import os
import sys
from importlib import metadata
from typing import Any

import pluggy

from ganzoo.core.errors import PluginError
from ganzoo.zoo import hookspecs
from ganzoo.zoo.discovery import Candidate, candidate_for, discover
from ganzoo.zoo.markers import PROJECT
from ganzoo.zoo.reasons import REASON_LIMIT, describe, is_interrupt, message_of, one_line
from ganzoo.zoo.records import PluginRecord

STRICT_ENV = "GANZOO_STRICT_PLUGINS"
DISABLE_ENV = "GANZOO_DISABLE_PLUGINS"


def strict_mode() -> bool:
    return os.environ.get(STRICT_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def disabled_names() -> set[str]:
    raw = os.environ.get(DISABLE_ENV, "")
    return {part.strip() for part in raw.split(",") if part.strip()}


def fail(record: PluginRecord, reason: str) -> None:
    """Mark ``record`` failed; in strict mode raise instead of carrying on."""
    # Some messages span lines (pluggy's do); one line keeps the table and strict mode whole.
    reason = one_line(reason)
    record.status = "failed"
    record.errors.append(reason)
    if strict_mode():
        raise PluginError(f"plugin {record.label} failed: {reason}")


def _hookimpl_opts(holder: Any) -> Any:
    opts = getattr(holder, f"{PROJECT}_impl", None)
    if opts is None and isinstance(holder, (staticmethod, classmethod)):
        opts = getattr(holder.__func__, f"{PROJECT}_impl", None)
    return opts


def _unknown_hooks(module: Any, known: set[str]) -> list[str]:
    """Hook implementations whose name matches no specification (a likely misspelling).

    Attributes are looked up statically, as pluggy does: no property and no module-level
    ``__getattr__`` runs. Whatever the module's ``__dir__`` or its objects raise is
    reported as a problem of the plugin.
    """
    try:
        attrs = list(dir(module))
    except BaseException as exc:
        if is_interrupt(exc):
            raise
        return [f"dir() of the plugin raised {describe(exc)}"]
    problems = []
    for attr in attrs:
        try:
            try:
                value = inspect.getattr_static(module, attr)
            except AttributeError:  # listed by __dir__, provided by __getattr__: not a hook
                continue
            if not (inspect.isroutine(value) or isinstance(value, (staticmethod, classmethod))):
                continue
            opts = _hookimpl_opts(value)
        except BaseException as exc:
            if is_interrupt(exc):
                raise
            problems.append(f"attribute {one_line(repr(attr), 60)} raised {describe(exc)}")
            continue
        if not isinstance(opts, dict) or opts.get("optionalhook") or attr in known:
            continue
        close = difflib.get_close_matches(attr, sorted(known), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        problems.append(f"unknown hook {attr!r}{hint}")
    return problems


def new_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


def _load_one(
    pm: pluggy.PluginManager, candidate: Candidate, known: set[str], records: list[PluginRecord]
) -> None:
    record = candidate.record
    if candidate.problem is not None:
        fail(record, candidate.problem)
        return
    try:
        module = candidate.load()
    except BaseException as exc:  # SystemExit too: a broken plugin must not take the CLI down
        if is_interrupt(exc):
            raise
        fail(record, f"import failed: {describe(exc)}")
        return
    if module is None:
        fail(record, "the entry point names None, not a module")
        return
    unknown = _unknown_hooks(module, known)
    if unknown:
        fail(record, "; ".join(unknown))
        return
    owner = pm.get_plugin(record.name)
    if owner is not None:
        first = next((r for r in records if r.module_object is owner), None)
        where = f"plugin {first.label}" if first is not None else "another plugin"
        fail(record, f"plugin name {record.name!r} is already used by {where}")
        return
    try:
        pm.register(module, name=record.name)
        hooks = sorted(caller.name for caller in pm.get_hookcallers(module) or [])
    except BaseException as exc:  # PluginValidationError, the module registered twice, ...
        if is_interrupt(exc):
            raise
        with contextlib.suppress(Exception):  # leave no half-registered plugin behind
            if pm.get_plugin(record.name) is module:
                pm.unregister(name=record.name)
        if isinstance(exc, pluggy.PluginValidationError):
            fail(record, f"invalid hook implementation: {message_of(exc, REASON_LIMIT)}")
        else:
            fail(record, f"registering with pluggy failed: {describe(exc)}")
        return
    record.module_object = module
    record.hooks = hooks


def load_plugins(
    pm: pluggy.PluginManager, entry_points: list[metadata.EntryPoint] | None = None
) -> list[PluginRecord]:
    """Import and register every entry point on its own; return a record for each."""
    disabled = disabled_names()
    known = {name for name in dir(pm.hook) if not name.startswith("_")}
    candidates = discover() if entry_points is None else [candidate_for(ep) for ep in entry_points]
    records = []
    for candidate in candidates:
        record = candidate.record
        records.append(record)
        if record.name in disabled or record.distribution in disabled:
            record.status = "disabled"
            continue
        # Whatever a plugin prints while loading goes to stderr: stdout may be JSON.
        with contextlib.redirect_stdout(sys.stderr):
            _load_one(pm, candidate, known, records)
    return records
