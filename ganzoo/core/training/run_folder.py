"""A run folder: config.json, metrics.jsonl, samples/ and checkpoints/.

Everything here survives ``kill -9`` at any moment: config and checkpoints are written
atomically (a killed write leaves only a hidden ``.tmp`` file, removed on the next start),
and a torn last line of metrics.jsonl is dropped when the run continues.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

from ganzoo.core.errors import ConfigError
from ganzoo.core.files import atomic_write_bytes, remove_stale_temporaries

_CKPT = re.compile(r"^step-(\d{1,12})\.safetensors$")
SUPERSEDED = "superseded"


def check_writable(out: str | Path) -> None:
    """Refuse an ``--out`` that cannot become a run folder, before any work is done."""
    root = Path(out).expanduser()
    if root.exists() and not root.is_dir():
        raise ConfigError(f"--out {root} exists and is not a folder")
    existing = root
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"--out {root}: cannot write in {existing}")


class RunFolder:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.config_path = self.root / "config.json"
        self.metrics_path = self.root / "metrics.jsonl"
        self.samples_dir = self.root / "samples"
        self.checkpoints_dir = self.root / "checkpoints"

    @classmethod
    def create(cls, out: str | Path | None, name: str, report=None) -> RunFolder:
        if out is None:
            base = Path("runs") / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
            root, n = base, 1
            while root.exists():
                n += 1
                root = base.with_name(f"{base.name}-{n}")
        else:
            root = Path(out)
            check_writable(root)
        folder = cls(root)
        if folder.config_path.exists():
            if folder.checkpoints():
                raise ConfigError(
                    f"{root} already holds a run; resume it with --resume {root} "
                    "or choose another --out"
                )
            # A run killed before its first checkpoint left nothing to continue: start again.
            if report is not None:
                report(f"{root} holds a run that stopped before its first checkpoint; restarting")
            folder.metrics_path.unlink(missing_ok=True)
        try:
            folder.samples_dir.mkdir(parents=True, exist_ok=True)
            folder.checkpoints_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create the run folder {root}: {exc.strerror}") from None
        folder.remove_temporaries()
        return folder

    @classmethod
    def open(cls, root: str | Path) -> RunFolder:
        folder = cls(root)
        if not folder.config_path.is_file():
            raise ConfigError(f"{root} is not a ganzoo run folder (no config.json)")
        return folder

    def ensure_layout(self) -> None:
        """Recreate the picture and checkpoint folders (a copied run may lack an empty one)."""
        self.samples_dir.mkdir(parents=True, exist_ok=True)
        self.checkpoints_dir.mkdir(parents=True, exist_ok=True)

    def write_config(self, config: dict[str, Any]) -> None:
        text = json.dumps(config, indent=2, sort_keys=True) + "\n"
        atomic_write_bytes(self.config_path, text.encode())

    def read_config(self) -> dict[str, Any]:
        try:
            config = json.loads(self.config_path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0]
            raise ConfigError(f"cannot read {self.config_path}: {reason}") from None
        if not isinstance(config, dict):
            raise ConfigError(f"{self.config_path} is not a JSON object")
        return config

    def remove_temporaries(self) -> None:
        """Delete what killed atomic writes left (hidden ``*.tmp`` files)."""
        for folder in (self.root, self.checkpoints_dir, self.samples_dir):
            remove_stale_temporaries(folder)

    # --- checkpoints -----------------------------------------------------------------------

    def checkpoint_path(self, step: int) -> Path:
        return self.checkpoints_dir / f"step-{step:07d}.safetensors"

    def checkpoints(self) -> list[tuple[int, Path]]:
        found = []
        if self.checkpoints_dir.is_dir():
            for path in self.checkpoints_dir.iterdir():
                match = _CKPT.match(path.name)
                if match and path.is_file():
                    found.append((int(match.group(1)), path))
        return sorted(found)

    def latest_checkpoint(self) -> Path | None:
        found = self.checkpoints()
        return found[-1][1] if found else None

    def prune_checkpoints(self, keep: int) -> None:
        for _, path in self.checkpoints()[:-keep]:
            path.unlink(missing_ok=True)

    def supersede_after(self, step: int) -> list[Path]:
        """Move checkpoints newer than ``step`` to checkpoints/superseded/ (never deleted):
        the run continues from ``step`` and will write its own."""
        moved = []
        for number, path in self.checkpoints():
            if number > step:
                target = self.checkpoints_dir / SUPERSEDED / path.name
                target.parent.mkdir(exist_ok=True)
                os.replace(path, target)
                moved.append(target)
        return moved

    # --- pictures and metrics --------------------------------------------------------------

    def sample_path(self, step: int, suffix: str = ".png") -> Path:
        return self.samples_dir / f"step-{step:07d}{suffix}"

    def append_metrics(self, record: dict[str, Any]) -> None:
        line = json.dumps(record) + "\n"
        with self.metrics_path.open("a+b") as handle:
            # After a torn last line (a killed write, a full disk) start on a line of our own.
            if handle.seek(0, os.SEEK_END) > 0:
                handle.seek(-1, os.SEEK_END)
                if handle.read(1) != b"\n":
                    line = "\n" + line
            handle.write(line.encode())

    def scan_metrics(self) -> tuple[list[dict[str, Any]], int]:
        """The records of metrics.jsonl and how many lines could not be read (torn, edited)."""
        if not self.metrics_path.exists():
            return [], 0
        records, bad = [], 0
        with self.metrics_path.open("rb") as handle:
            for raw in handle:
                if not raw.strip():
                    continue
                try:
                    record = json.loads(raw)
                except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
                    bad += 1
                    continue
                if isinstance(record, dict) and _valid_step(record.get("step")):
                    records.append(record)
                else:
                    bad += 1
        return records, bad

    def read_metrics(self) -> list[dict[str, Any]]:
        return self.scan_metrics()[0]

    @property
    def curves_path(self) -> Path:
        return self.root / "losses.png"

    def truncate_metrics(self, after_step: int, record: dict[str, Any] | None = None) -> int:
        """Keep the records up to ``after_step`` (a resumed run redoes the later ones), with
        ``record`` (the line logged at ``after_step``, from the checkpoint) restored when the
        file lost it. Returns how many unreadable lines were dropped."""
        records, bad = self.scan_metrics()
        kept = [r for r in records if r["step"] <= after_step]
        if record is not None and not any(
            r["step"] == after_step and "eval" not in r for r in kept
        ):
            kept.append(record)
        atomic_write_bytes(self.metrics_path, "".join(json.dumps(r) + "\n" for r in kept).encode())
        return bad


def _valid_step(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
