"""What the benchmark scripts share for their reports: mean ± standard error, and rewriting a
marked section of docs/benchmarks.md while keeping the text around it."""

from __future__ import annotations

import math
import os
import shlex
import sys
from pathlib import Path


def mean_se(values: list[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, float("nan")
    var = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(var / len(values))


def write_section(path: Path, name: str, section: str, heading: str | None = None) -> None:
    """Put ``section`` between ``<!-- name:begin -->`` and ``<!-- name:end -->`` in ``path``;
    when the markers are absent, append them (after ``heading``, if given)."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = f"{begin}\n{section}\n{end}"
    text = path.read_text() if path.exists() else ""
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        lead = text.rstrip() + "\n\n" if text.strip() else ""
        title = f"{heading}\n\n" if heading else ""
        text = f"{lead}{title}{block}\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def command_line() -> str:
    """This script's command as a reader would type it again (the venv's python relative to
    the working directory, or plain ``python`` outside it)."""
    python = os.path.relpath(sys.executable)
    python = "python" if python.startswith("..") else python
    return " ".join([python, *map(shlex.quote, sys.argv)])
