"""What became of one plugin: the record ``ganzoo plugins`` shows.

Its own file because discovery creates records and loading fills them in: loading imports
discovery, so a record kept with either would make an import circle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class PluginRecord:
    """One entry point of the ``ganzoo`` group and what became of it."""

    name: str
    distribution: str
    version: str
    module: str
    status: str = "ok"  # ok | failed | disabled
    errors: list[str] = field(default_factory=list)
    hooks: list[str] = field(default_factory=list)
    provides: list[str] = field(default_factory=list)
    module_object: Any = field(default=None, repr=False)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.distribution} {self.version})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "module": self.module,
            "status": self.status,
            "errors": list(self.errors),
            "hooks": list(self.hooks),
            "provides": list(self.provides),
        }
