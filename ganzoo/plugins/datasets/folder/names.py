"""File names made safe to show: one printable line, whatever bytes the name holds.

A dataset folder is untrusted input, and so are its file names: a name may hold a newline
(which would forge a second message line), a terminal escape sequence, or bytes that are not
valid UTF-8 (``os.walk`` hands those over as lone surrogates, ``surrogateescape``).
"""

from __future__ import annotations

_SURROGATE_ESCAPES = range(0xDC80, 0xDD00)  # how surrogateescape carries the bytes 0x80-0xFF


def printable(text: str) -> str:
    """``text`` on one printable line, escaped like ``repr`` without the quotes.

    An undecodable byte shows as ``\\xNN``; newlines, tabs and other control or invisible
    characters (bidi overrides, line separators) as ``\\n``, ``\\t``, ``\\x1b``, ``\\u202e``;
    a backslash as ``\\\\``, so that no two different names look the same.
    """
    if text.isprintable() and "\\" not in text:
        return text  # the common case, at C speed
    out = []
    for char in text:
        code = ord(char)
        if code in _SURROGATE_ESCAPES:
            out.append(f"\\x{code - 0xDC00:02x}")
        elif char.isprintable() and char != "\\":
            out.append(char)
        else:
            out.append(repr(char)[1:-1])
    return "".join(out)
