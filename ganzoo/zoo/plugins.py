"""Discover and load plugins from the ``ganzoo`` entry-point group, each one guarded.

A broken plugin never bricks the CLI: its failure is recorded on its ``PluginRecord`` and
shown by ``ganzoo plugins``. "Broken" covers broken metadata (a distribution without a
name or version, a malformed or unreadable ``entry_points.txt``) as well as a module that
raises anything but ``KeyboardInterrupt`` on import (``SystemExit`` included) or when
inspected. ``GANZOO_STRICT_PLUGINS=1`` turns failures into errors;
``GANZOO_DISABLE_PLUGINS=name,other`` skips plugins by entry-point or distribution name.
"""

from __future__ import annotations

import builtins
import contextlib
import difflib
import inspect
import os
import re
import sys
from collections.abc import Iterator
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
MESSAGE_LIMIT = 200  # characters of an exception's message kept in a reason
REASON_LIMIT = 500  # characters of a whole reason

# What importlib.metadata accepts as an entry point's value: module[:attr.path] [extras].
_VALUE = re.compile(r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$")
_EXPECTED_LINE = "expected 'NAME = module' or 'NAME = module:attribute'"


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


def one_line(text: str, limit: int = REASON_LIMIT) -> str:
    """``text`` folded onto one line of printable characters, at most ``limit`` long."""
    text = " ".join(text[: limit * 8].split())  # bounded work, whatever the size
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def is_interrupt(exc: BaseException) -> bool:
    """``KeyboardInterrupt`` (alone or in an exception group) is the user's, never a plugin's."""
    if isinstance(exc, KeyboardInterrupt):
        return True
    group = getattr(builtins, "BaseExceptionGroup", None)
    return group is not None and isinstance(exc, group) and bool(exc.subgroup(KeyboardInterrupt))


def message_of(exc: BaseException, limit: int = MESSAGE_LIMIT) -> str:
    """An exception's message on one line (empty if it has none or cannot be shown)."""
    try:
        message = str(exc)
    except BaseException as err:  # a broken __str__ is part of the plugin's failure
        if is_interrupt(err):
            raise
        message = "(the message could not be shown)"
    return one_line(message, limit)


def describe(exc: BaseException) -> str:
    """``Type: message`` on one line, whatever the exception holds (or fails to print)."""
    message = message_of(exc)
    name = type(exc).__name__
    return f"{name}: {message}" if message else name


def fail(record: PluginRecord, reason: str) -> None:
    """Mark ``record`` failed; in strict mode raise instead of carrying on."""
    # Some messages span lines (pluggy's do); one line keeps the table and strict mode whole.
    reason = one_line(reason)
    record.status = "failed"
    record.errors.append(reason)
    if strict_mode():
        raise PluginError(f"plugin {record.label} failed: {reason}")


@dataclass
class _Candidate:
    """A ``ganzoo`` entry point found in a distribution, or what stands for a broken one."""

    record: PluginRecord
    load: Any = None  # zero-argument callable returning the plugin object
    problem: str | None = None  # known before importing anything: the plugin fails


def _distributions() -> Iterator[Any]:
    """Every installed distribution, asking each finder about each path entry on its own,
    so an unreadable path entry or a broken finder costs only what it would have found."""
    for finder in list(sys.meta_path):
        try:
            find = getattr(finder, "find_distributions", None)
        except BaseException as exc:
            if is_interrupt(exc):
                raise
            continue
        if find is None:
            continue
        for entry in list(sys.path):
            try:
                found = iter(find(metadata.DistributionFinder.Context(path=[entry])))
            except BaseException as exc:
                if is_interrupt(exc):
                    raise
                continue
            while True:
                try:
                    dist = next(found)
                except StopIteration:
                    break
                except BaseException as exc:
                    if is_interrupt(exc):
                        raise
                    break
                yield dist


def _folder(dist: Any) -> str:
    """The name of a distribution's metadata folder (``name-1.0.dist-info``), for messages."""
    try:
        path = getattr(dist, "_path", None)
        name = os.path.basename(str(path).rstrip("/\\")) if path is not None else ""
        return one_line(name, 100) or type(dist).__name__
    except BaseException as exc:
        if is_interrupt(exc):
            raise
        return type(dist).__name__


def _read(dist: Any, filename: str) -> tuple[str | None, str | None]:
    """The text of one metadata file and, when it could not be read as UTF-8, why; then the
    text is what could be decoded (to see whether the distribution has ganzoo entries)."""
    try:
        text = dist.read_text(filename)
        return (text if isinstance(text, str) else None), None
    except BaseException as exc:
        if is_interrupt(exc):
            raise
        problem = f"{filename} could not be read: {describe(exc)}"
    try:
        raw = dist._path.joinpath(filename).read_bytes()
        return raw.decode("utf-8", errors="replace"), problem
    except BaseException as exc:
        if is_interrupt(exc):
            raise
        return None, problem


def _identity(dist: Any) -> tuple[str | None, str | None, str | None]:
    """(name, version, problem) from a distribution's metadata."""
    found = []
    for field_name in ("name", "version"):
        try:
            value = getattr(dist, field_name)
        except KeyError:  # a missing field, on Pythons that raise for one
            value = None
        except BaseException as exc:
            if is_interrupt(exc):
                raise
            return None, None, f"its METADATA could not be read: {describe(exc)}"
        found.append(value.strip() if isinstance(value, str) and value.strip() else None)
    name, version = found
    if name is None:
        return None, version, "its METADATA has no Name"
    if version is None:
        return name, None, "its METADATA has no Version"
    return name, version, None


def _ganzoo_lines(text: str) -> list[str]:
    """The lines of the ``[ganzoo]`` section, parsed as importlib.metadata does (which would
    raise for the whole environment on one malformed line; here it costs only that line)."""
    section = None
    lines = []
    for line in map(str.strip, text.splitlines()):
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line.strip("[]")
        elif section == PROJECT:
            lines.append(line)
    return lines


def _entry_point_loader(name: str, value: str) -> Any:
    return metadata.EntryPoint(name=name, value=value, group=PROJECT).load


def _candidates_in(dist: Any) -> list[_Candidate]:
    """The ``ganzoo`` entry points of one distribution; a distribution without any is none
    of ganzoo's business, however broken its metadata."""
    text, read_problem = _read(dist, "entry_points.txt")
    lines = _ganzoo_lines(text) if text else []
    if not lines:
        return []
    folder = _folder(dist)
    name, version, meta_problem = _identity(dist)
    distribution = one_line(name, 100) if name else folder
    version = one_line(version, 100) if version else "?"
    if meta_problem is not None:
        meta_problem = f"distribution {folder}: {meta_problem}"
    out = []
    for line in lines:
        ep_name, sep, value = (part.strip() for part in line.partition("="))
        problem = read_problem or meta_problem
        if problem is None and not sep:
            problem = f"malformed entry point {line!r} in entry_points.txt: {_EXPECTED_LINE}"
        elif problem is None and not ep_name:
            problem = f"entry point without a name {line!r} in entry_points.txt: {_EXPECTED_LINE}"
        elif problem is None and not _VALUE.match(value):
            problem = f"invalid entry point value {value!r} in entry_points.txt: {_EXPECTED_LINE}"
        record = PluginRecord(
            name=one_line(ep_name, 100) if sep and ep_name else distribution,
            distribution=distribution,
            version=version,
            module=one_line(value if sep else line, 200),
        )
        loader = None if problem else _entry_point_loader(ep_name, value)
        out.append(_Candidate(record, loader, problem))
    return out


def _dedup_key(dist: Any) -> str:
    """Distributions seen twice (an editable install and a build dir): the first wins, keyed
    as in ``importlib.metadata.entry_points()`` by the folder's name, so no METADATA is read."""
    stem, ext = os.path.splitext(_folder(dist))
    name = stem.partition("-")[0] if ext in (".dist-info", ".egg-info") else ""
    if not name:
        try:
            value = dist.name
            name = value if isinstance(value, str) else ""
        except BaseException as exc:
            if is_interrupt(exc):
                raise
    if not name.strip():
        return f"object:{id(dist)}"
    return "name:" + re.sub(r"[-_.]+", "_", name.strip()).lower()


def _discover() -> list[_Candidate]:
    candidates: list[_Candidate] = []
    seen_dists: set[str] = set()
    for dist in _distributions():
        key = _dedup_key(dist)
        if key in seen_dists:
            continue
        seen_dists.add(key)
        candidates.extend(_candidates_in(dist))

    def order(c: _Candidate) -> tuple[int, str, str]:
        dist = c.record.distribution
        # Built-ins first, so a third-party plugin that reuses a name is the one reported.
        return (0 if dist == BUILTIN_DISTRIBUTION else 1, dist.lower(), c.record.name)

    seen: set[tuple[str, str]] = set()
    unique = []
    for candidate in sorted(candidates, key=order):
        # The same entry point can be visible twice (an editable install plus a build dir).
        key = (candidate.record.name, candidate.record.module)
        if key not in seen:
            seen.add(key)
            unique.append(candidate)
    return unique


def _candidate_for(ep: metadata.EntryPoint) -> _Candidate:
    """An entry point given by the caller (``Catalog.from_entry_points(...)``)."""
    try:
        name, value, dist = ep.name, ep.value, ep.dist
    except BaseException as exc:
        if is_interrupt(exc):
            raise
        record = PluginRecord(name="?", distribution="?", version="?", module="?")
        return _Candidate(record, None, f"unreadable entry point: {describe(exc)}")
    problem = None
    distribution = version = "?"
    if dist is not None:
        dist_name, dist_version, problem = _identity(dist)
        distribution = one_line(dist_name, 100) if dist_name else _folder(dist)
        version = one_line(dist_version, 100) if dist_version else "?"
        if problem is not None:
            problem = f"distribution {_folder(dist)}: {problem}"
    name = name if isinstance(name, str) else ""
    value = value if isinstance(value, str) else ""
    if problem is None and not name.strip():
        problem = f"entry point without a name: {_EXPECTED_LINE}"
    elif problem is None and not _VALUE.match(value):
        problem = f"invalid entry point value {value!r}: {_EXPECTED_LINE}"
    record = PluginRecord(
        name=one_line(name, 100) or distribution,
        distribution=distribution,
        version=version,
        module=one_line(value, 200),
    )
    return _Candidate(record, ep.load, problem)


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


def tolerate_broken_entry_points() -> str | None:
    """Keep one distribution's broken ``entry_points.txt`` from breaking every import.

    ``importlib.metadata.entry_points()`` raises for the whole environment on one line
    without ``=`` or one undecodable file in any distribution, and importing torch calls it
    (device-backend autoload, triton's backends). When it raises, make each distribution
    whose entry points cannot be read or parsed offer none, for this process only, and
    return why; ``ganzoo plugins`` reports the distribution if it declared ganzoo plugins.
    """
    try:
        metadata.entry_points(group=PROJECT)
        return None
    except BaseException as exc:
        if is_interrupt(exc):
            raise
        reason = describe(exc)
    original = metadata.Distribution.__dict__.get("entry_points")
    if isinstance(original, property) and not getattr(original.fget, "tolerant", False):
        read = original.fget

        def entry_points(dist: Any) -> Any:
            try:
                return read(dist)
            except Exception:
                return metadata.EntryPoints(())

        entry_points.tolerant = True
        metadata.Distribution.entry_points = property(entry_points, doc=original.__doc__)
    return reason


def new_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


def _load_one(
    pm: pluggy.PluginManager, candidate: _Candidate, known: set[str], records: list[PluginRecord]
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
    candidates = (
        _discover() if entry_points is None else [_candidate_for(ep) for ep in entry_points]
    )
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
