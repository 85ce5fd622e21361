"""Why a plugin failed, as one short line of printable characters.

Reasons are shown in the ``ganzoo plugins`` table and in strict mode's error, and come
from code ganzoo does not control (a plugin's exception, a distribution's metadata), so
every reason is folded, bounded and made printable here, whatever it holds.
"""

from __future__ import annotations

import builtins

MESSAGE_LIMIT = 200  # characters of an exception's message kept in a reason
REASON_LIMIT = 500  # characters of a whole reason


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
