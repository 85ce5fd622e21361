"""Output for people and scripts: rich on a terminal, plain text otherwise, JSON on request."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any


def is_terminal(stream: Any = None) -> bool:
    stream = sys.stdout if stream is None else stream
    return bool(getattr(stream, "isatty", lambda: False)())


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    if is_terminal():
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title, title_justify="left")
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*row)
        Console().print(table)
        return
    widths = [max(len(str(x)) for x in col) for col in zip(columns, *rows)]
    for row in [columns, *rows]:
        line = "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths))
        sys.stdout.write(line.rstrip() + "\n")


def error(message: str) -> None:
    """One line on stderr: what went wrong, never a traceback."""
    sys.stderr.write(f"error: {message}\n")


_SILENT = False


def silence() -> None:
    """No more notes from this process (the other ranks of a distributed run: rank 0
    speaks for them)."""
    global _SILENT
    _SILENT = True


def note(message: str) -> None:
    if not _SILENT:
        sys.stderr.write(message + "\n")
