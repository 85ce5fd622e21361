"""Assertions shared by the tests of bad input."""

from __future__ import annotations


def one_line_error(result, *fragments: str, code: int = 2) -> str:
    """``result`` (from the ``run_cli`` fixture) failed with ``code`` and exactly one
    ``error:`` line on stderr — no traceback, no "set GANZOO_DEBUG" fallback — holding every
    fragment. Returns that line."""
    assert result.code == code, (result.code, result.out, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    line = lines[0]
    assert line.startswith("error: ") and "Traceback" not in result.err, result.err
    assert "GANZOO_DEBUG" not in line, line
    for fragment in fragments:
        assert fragment in line, line
    return line
