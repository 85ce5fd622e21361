"""Why a file was skipped, in a few words, and the one-line summary of all of them.

A skipped file is never an error: the run goes on without it, and the user sees its name
and the reason. The names are untrusted, so each is shown escaped (see names.printable).
"""

from __future__ import annotations

from PIL import UnidentifiedImageError

from ganzoo.plugins.datasets.folder.names import printable
from ganzoo.plugins.datasets.folder.pixels import OverBudget

_LISTED_SKIPS = 5


class Skip(Exception):
    """This file is not decoded; the message is the reason shown in the skipped list."""


def short_reason(exc: BaseException) -> str:
    if isinstance(exc, Skip | OverBudget):
        return str(exc)
    if isinstance(exc, UnidentifiedImageError):
        return "cannot identify image file"
    # strerror leaves out the path, which the skipped list already names.
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    text = text.strip() or type(exc).__name__
    return text if len(text) <= 80 else text[:77] + "..."


def skip_summary(skipped: list[tuple[str, str]], what: str = "unreadable") -> str:
    """One line, whatever the names hold: each is shown escaped (see names.printable).
    ``what`` says what kind of file was skipped (``unpaired``, say)."""
    listed = ", ".join(
        f"{printable(name)} ({printable(reason)})" for name, reason in skipped[:_LISTED_SKIPS]
    )
    more = len(skipped) - _LISTED_SKIPS
    noun = "file" if len(skipped) == 1 else "files"
    tail = f", and {more} more" if more > 0 else ""
    return f"skipped {len(skipped)} {what} {noun}: {listed}{tail}"
