"""Where ganzoo keeps caches (decoded datasets, feature networks)."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "GANZOO_CACHE_DIR"


def cache_dir(*parts: str) -> Path:
    """``$GANZOO_CACHE_DIR``, else ``$XDG_CACHE_HOME/ganzoo``, else ``~/.cache/ganzoo``."""
    root = os.environ.get(CACHE_ENV)
    if root:
        base = Path(root).expanduser()
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "ganzoo"
    return base.joinpath(*parts)
