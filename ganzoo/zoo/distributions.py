"""Read installed distributions' metadata one distribution at a time.

``importlib.metadata`` reads the environment as a whole, so one distribution without a
name or version, or with a malformed or unreadable ``entry_points.txt``, breaks it for
every caller. Here each distribution is read on its own and whatever one raises (anything
but ``KeyboardInterrupt``) costs only that distribution.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from importlib import metadata
from typing import Any

from ganzoo.zoo.markers import PROJECT
from ganzoo.zoo.reasons import describe, is_interrupt, one_line


def each_distribution() -> Iterator[Any]:
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


def folder_name(dist: Any) -> str:
    """The name of a distribution's metadata folder (``name-1.0.dist-info``), for messages."""
    try:
        path = getattr(dist, "_path", None)
        name = os.path.basename(str(path).rstrip("/\\")) if path is not None else ""
        return one_line(name, 100) or type(dist).__name__
    except BaseException as exc:
        if is_interrupt(exc):
            raise
        return type(dist).__name__


def read_metadata_file(dist: Any, filename: str) -> tuple[str | None, str | None]:
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


def identity(dist: Any) -> tuple[str | None, str | None, str | None]:
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


def dedup_key(dist: Any) -> str:
    """Distributions seen twice (an editable install and a build dir): the first wins, keyed
    as in ``importlib.metadata.entry_points()`` by the folder's name, so no METADATA is read."""
    stem, ext = os.path.splitext(folder_name(dist))
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
