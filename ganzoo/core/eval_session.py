"""``ganzoo eval``: a checkpoint and a dataset spec in, a table of metric values out.

The generated set comes from the checkpoint's generator (its EMA weights when the run kept
them); the reference set comes from a dataset spec resolved exactly as for training, at the
checkpoint's resolution. When the checkpoint sits in a run folder, the result is appended
to that run's metrics.jsonl.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganzoo.console import note
from ganzoo.core.build import dataset_entry, load_dataset
from ganzoo.core.checkpoint import Checkpoint
from ganzoo.core.data import DataRequest
from ganzoo.core.device import resolve_device
from ganzoo.core.errors import ConfigError
from ganzoo.core.evaluation import DEFAULT_MAX_REFERENCE, EvalContext, Metric
from ganzoo.core.run_folder import RunFolder
from ganzoo.zoo.catalog import get_catalog
from ganzoo.zoo.descriptors import resolve_factory

DEFAULT_SAMPLES = {"image": 10_000, "points": 2_500}


@dataclass
class EvalResult:
    checkpoint: Path
    step: int
    data: str
    samples: int
    weights: str
    metrics: list[str]
    results: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    logged_to: Path | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "checkpoint": str(self.checkpoint),
            "step": self.step,
            "data": self.data,
            "samples": self.samples,
            "weights": self.weights,
            "metrics": self.metrics,
            # JSON has no infinity: a metric that is undefined (no sample near any mode,
            # say) is null.
            "results": {k: (v if math.isfinite(v) else None) for k, v in self.results.items()},
            "seconds": round(self.seconds, 2),
        }


def _metric_names(requested: str | None, data_kind: str) -> list[str]:
    catalog = get_catalog()
    if requested:
        names = [n.strip() for n in requested.split(",") if n.strip()]
        for name in names:
            info = catalog.metric(name).info
            if info.data_kind != data_kind:
                raise ConfigError(
                    f"metric {name!r} measures {info.data_kind} data; this model makes {data_kind}"
                )
        return names
    return [e.name for e in catalog.entries("metric") if e.info.default and
            e.info.data_kind == data_kind]  # fmt: skip


def _run_folder_of(path: Path) -> RunFolder | None:
    root = path.resolve().parent.parent
    if path.resolve().parent.name == "checkpoints" and (root / "config.json").is_file():
        return RunFolder(root)
    return None


def evaluate(
    checkpoint: str,
    data: str | None = None,
    metrics: str | None = None,
    samples: int | None = None,
    seed: int = 0,
    device: str = "auto",
    inception: str | None = None,
    batch_size: int = 64,
    max_reference: int = DEFAULT_MAX_REFERENCE,
    progress=None,
) -> EvalResult:
    from ganzoo.api import load

    started = time.perf_counter()
    ckpt = Checkpoint(checkpoint)
    target = resolve_device(device)
    data_kind = ckpt.raw.get("data_kind", "image")
    names = _metric_names(metrics, data_kind)
    if not names:
        raise ConfigError(f"no installed metric measures {data_kind} data")
    count = DEFAULT_SAMPLES[data_kind] if samples is None else samples
    if count < 1:
        raise ConfigError(f"-n must be positive; got {count}")
    instances: list[Metric] = [resolve_factory(get_catalog().metric(n).info.factory)()
                               for n in names]  # fmt: skip

    trained_on = ckpt.raw.get("dataset", "")
    spec = data or trained_on
    if not spec:
        raise ConfigError("the checkpoint does not say what it was trained on; pass --data SPEC")
    entry, argument = dataset_entry(spec)
    if entry.info.data_kind != data_kind:
        raise ConfigError(f"dataset {spec!r} holds {entry.info.data_kind} data, not {data_kind}")

    generator = load(checkpoint, device=str(target))
    shape = generator.data_shape
    train = ckpt.json("train_config") if "train_config" in ckpt.raw else {}
    same_data = spec == trained_on
    request = DataRequest(
        argument=argument,
        resolution=shape[1] if len(shape) == 3 else 0,
        channels=shape[0] if len(shape) == 3 else 0,
        # The same seed and size as in training, so procedural references are the same set.
        seed=int(train.get("seed", 0)) if same_data else 0,
        size=train.get("dataset_size") if same_data else None,
        report=note,
    )
    real = load_dataset(spec, request)
    if real.shape != tuple(shape):
        raise ConfigError(f"dataset {spec!r} gives samples of shape {real.shape}, "
                          f"the generator makes {tuple(shape)}")  # fmt: skip

    fake = generator.sample(count, seed=seed)
    ctx = EvalContext(
        fake=fake,
        real=real,
        device=target,
        seed=seed,
        inception_weights=inception,
        batch_size=batch_size,
        max_reference=max_reference,
        report=note,
        progress=progress,
    )
    result = EvalResult(Path(checkpoint), ckpt.step, spec, count, generator.weights, names)
    for metric in instances:
        result.results.update(metric.compute(ctx))
    result.seconds = time.perf_counter() - started

    folder = _run_folder_of(Path(checkpoint))
    if folder is not None:
        folder.append_metrics({"step": result.step, "eval": result.as_dict()})
        result.logged_to = folder.metrics_path
    return result
