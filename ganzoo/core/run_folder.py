"""A run folder: config.json, metrics.jsonl, samples/ and checkpoints/."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from ganzoo.core.checkpoint import atomic_write_bytes
from ganzoo.core.errors import ConfigError

_CKPT = re.compile(r"^step-(\d+)\.safetensors$")


class RunFolder:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.config_path = self.root / "config.json"
        self.metrics_path = self.root / "metrics.jsonl"
        self.samples_dir = self.root / "samples"
        self.checkpoints_dir = self.root / "checkpoints"

    @classmethod
    def create(cls, out: str | Path | None, name: str) -> RunFolder:
        if out is None:
            base = Path("runs") / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
            root, n = base, 1
            while root.exists():
                n += 1
                root = base.with_name(f"{base.name}-{n}")
        else:
            root = Path(out)
            if (root / "config.json").exists():
                raise ConfigError(
                    f"{root} already holds a run; resume it with --resume {root} "
                    "or choose another --out"
                )
        folder = cls(root)
        folder.samples_dir.mkdir(parents=True, exist_ok=True)
        folder.checkpoints_dir.mkdir(parents=True, exist_ok=True)
        return folder

    @classmethod
    def open(cls, root: str | Path) -> RunFolder:
        folder = cls(root)
        if not folder.config_path.is_file():
            raise ConfigError(f"{root} is not a ganzoo run folder (no config.json)")
        return folder

    def write_config(self, config: dict[str, Any]) -> None:
        text = json.dumps(config, indent=2, sort_keys=True) + "\n"
        atomic_write_bytes(self.config_path, text.encode())

    def read_config(self) -> dict[str, Any]:
        try:
            return json.loads(self.config_path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"cannot read {self.config_path}: {exc}") from None

    def checkpoint_path(self, step: int) -> Path:
        return self.checkpoints_dir / f"step-{step:07d}.safetensors"

    def checkpoints(self) -> list[tuple[int, Path]]:
        found = []
        if self.checkpoints_dir.is_dir():
            for path in self.checkpoints_dir.iterdir():
                match = _CKPT.match(path.name)
                if match:
                    found.append((int(match.group(1)), path))
        return sorted(found)

    def latest_checkpoint(self) -> Path | None:
        found = self.checkpoints()
        return found[-1][1] if found else None

    def prune_checkpoints(self, keep: int) -> None:
        for _, path in self.checkpoints()[:-keep]:
            path.unlink(missing_ok=True)

    def sample_path(self, step: int, suffix: str = ".png") -> Path:
        return self.samples_dir / f"step-{step:07d}{suffix}"

    def append_metrics(self, record: dict[str, Any]) -> None:
        with self.metrics_path.open("a") as handle:
            handle.write(json.dumps(record) + "\n")

    def read_metrics(self) -> list[dict[str, Any]]:
        if not self.metrics_path.exists():
            return []
        lines = self.metrics_path.read_text().splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    @property
    def curves_path(self) -> Path:
        return self.root / "losses.png"

    def truncate_metrics(self, after_step: int) -> None:
        """Drop records past ``after_step``: a resumed run redoes those steps."""
        if not self.metrics_path.exists():
            return
        kept = [r for r in self.read_metrics() if r.get("step", 0) <= after_step]
        atomic_write_bytes(self.metrics_path, "".join(json.dumps(r) + "\n" for r in kept).encode())
