"""The named fields of a batch, in one torch-free place (descriptors check names against it).

A dataset source declares the fields it provides, a model the fields it needs; the trainer
compares the two before any data is decoded.
"""

from __future__ import annotations

from collections.abc import Iterable

# Every field a batch can have, and how it is named to a user.
FIELDS = {
    "x": "samples",
    "label": "class labels",
    "source": "paired source images",
    "target": "paired target images",
    "a": "domain A images",
    "b": "domain B images",
}
# Fields drawn together, row by row; the first of each is the table's sample field.
TABLES = (("x", "label"), ("source", "target"), ("a",), ("b",))
SAMPLE_FIELDS = ("x", "source", "target", "a", "b")
DIRECTIONS = ("AtoB", "BtoA")


def describe_fields(names: Iterable[str]) -> str:
    """``{"source", "target"}`` -> ``"source, target (paired source images, ...)"``."""
    wanted = set(names)
    ordered = [name for name in FIELDS if name in wanted]
    return ", ".join(f"{name} ({FIELDS[name]})" for name in ordered) or "nothing"


def check_field_names(names: object, owner: str, what: str) -> tuple[str, ...]:
    """A descriptor's tuple of field names, each one of ``FIELDS``."""
    if isinstance(names, str) or not isinstance(names, tuple | list) or not names:
        raise ValueError(f"{owner}: {what} must be a non-empty tuple of field names")
    unknown = [n for n in names if n not in FIELDS]
    if unknown:
        raise ValueError(
            f"{owner}: {what} has unknown field {unknown[0]!r} (known: {', '.join(FIELDS)})"
        )
    return tuple(names)


def default_dataset(needs: Iterable[str]) -> str:
    """The embedded procedural set that gives ``needs``: what a family trains on when the
    user names no data set."""
    wanted = set(needs)
    if wanted & {"source", "target"}:
        return "edges2shapes"
    if wanted & {"a", "b"}:
        return "shapestyles"
    return "shapes"
