"""Find the ``ganzoo`` entry points, each one a candidate that loading imports or fails.

Each distribution's ``[ganzoo]`` section is parsed here, line by line, rather than by
``importlib.metadata``, which raises for the whole environment on one malformed line: a
broken line, or broken metadata, becomes the problem of only the plugins it declares,
known before anything is imported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from ganzoo.zoo.distributions import (
    dedup_key,
    each_distribution,
    folder_name,
    identity,
    read_metadata_file,
)
from ganzoo.zoo.markers import PROJECT
from ganzoo.zoo.reasons import describe, is_interrupt, one_line
from ganzoo.zoo.records import PluginRecord

BUILTIN_DISTRIBUTION = "ganzoo"

# What importlib.metadata accepts as an entry point's value: module[:attr.path] [extras].
_VALUE = re.compile(r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$")
_EXPECTED_LINE = "expected 'NAME = module' or 'NAME = module:attribute'"


@dataclass
class Candidate:
    """A ``ganzoo`` entry point found in a distribution, or what stands for a broken one."""

    record: PluginRecord
    load: Any = None  # zero-argument callable returning the plugin object
    problem: str | None = None  # known before importing anything: the plugin fails


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


def _candidates_in(dist: Any) -> list[Candidate]:
    """The ``ganzoo`` entry points of one distribution; a distribution without any is none
    of ganzoo's business, however broken its metadata."""
    text, read_problem = read_metadata_file(dist, "entry_points.txt")
    lines = _ganzoo_lines(text) if text else []
    if not lines:
        return []
    folder = folder_name(dist)
    name, version, meta_problem = identity(dist)
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
        out.append(Candidate(record, loader, problem))
    return out


def discover() -> list[Candidate]:
    """Every installed ``ganzoo`` entry point, built-ins first, each seen once."""
    candidates: list[Candidate] = []
    seen_dists: set[str] = set()
    for dist in each_distribution():
        key = dedup_key(dist)
        if key in seen_dists:
            continue
        seen_dists.add(key)
        candidates.extend(_candidates_in(dist))

    def order(c: Candidate) -> tuple[int, str, str]:
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


def candidate_for(ep: metadata.EntryPoint) -> Candidate:
    """An entry point given by the caller (``Catalog.from_entry_points(...)``)."""
    try:
        name, value, dist = ep.name, ep.value, ep.dist
    except BaseException as exc:
        if is_interrupt(exc):
            raise
        record = PluginRecord(name="?", distribution="?", version="?", module="?")
        return Candidate(record, None, f"unreadable entry point: {describe(exc)}")
    problem = None
    distribution = version = "?"
    if dist is not None:
        dist_name, dist_version, problem = identity(dist)
        distribution = one_line(dist_name, 100) if dist_name else folder_name(dist)
        version = one_line(dist_version, 100) if dist_version else "?"
        if problem is not None:
            problem = f"distribution {folder_name(dist)}: {problem}"
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
    return Candidate(record, ep.load, problem)
