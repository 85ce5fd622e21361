"""``ganzoo eval``: a checkpoint and a dataset spec in, a table of metric values out.

The generated set comes from the checkpoint's generator (its EMA weights when the run kept
them), made a block at a time on the device as the metrics read it; the reference set comes
from a dataset spec resolved exactly as for training, at the checkpoint's resolution. When
the checkpoint sits in a run folder, the result is appended to that run's metrics.jsonl.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganzoo.console import note
from ganzoo.core.build import dataset_entry, load_dataset
from ganzoo.core.checkpoints import Checkpoint
from ganzoo.core.data.store import DataRequest
from ganzoo.core.device import resolve_device
from ganzoo.core.errors import CheckpointError, ConfigError
from ganzoo.core.evaluation.evaluate import DEFAULT_MAX_REFERENCE, EvalContext, Metric
from ganzoo.core.evaluation.generated import GeneratedSamples
from ganzoo.core.limits import (
    MAX_DATASET_SIZE,
    MAX_EVAL_BATCH,
    MAX_EVAL_REFERENCE,
    MAX_EVAL_SAMPLES,
    check_int,
    check_seed,
)
from ganzoo.core.training.run_folder import RunFolder
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


def _reference_spec(ckpt: Checkpoint, data: str | None) -> tuple[str, bool]:
    """The dataset spec to compare against, and whether it is the training data.

    A checkpoint never chooses files for ganzoo to read: its recorded dataset is used only
    when it is procedural (no path in it) or when the checkpoint sits in a run folder here
    whose config.json records the same data; otherwise the user names it with --data.
    """
    trained_on = ckpt.raw.get("dataset", "")
    if data:
        return data, data == trained_on
    if not trained_on:
        raise ConfigError("the checkpoint does not say what it was trained on; pass --data SPEC")
    entry, _ = dataset_entry(trained_on)
    if entry.info.argument is None:
        return trained_on, True
    folder = _run_folder_of(ckpt.path)
    recorded = None
    if folder is not None:
        train = folder.read_config().get("train")
        recorded = train.get("dataset") if isinstance(train, dict) else None
    if recorded != trained_on:
        raise ConfigError(
            f"the checkpoint was trained on {trained_on[:200]!r}, which is not the data of a run "
            "folder it sits in; ganzoo reads only files you name: pass --data SPEC"
        )
    return trained_on, True


def _training_request_values(ckpt: Checkpoint) -> tuple[int, int | None]:
    """The seed and size the training data was made with (procedural sets are regenerated)."""
    train = ckpt.json("train_config", dict) if "train_config" in ckpt.raw else {}
    try:
        seed = check_seed(train.get("seed", 0), "train_config seed")
        size = train.get("dataset_size")
        if size is not None:
            check_int(size, "train_config dataset_size", 1, MAX_DATASET_SIZE)
    except ConfigError as exc:
        raise CheckpointError(f"{ckpt.path}: {exc}") from None
    return seed, size


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
    max_image_pixels: int | None = None,
    progress=None,
    no_ema: bool = False,
) -> EvalResult:
    from ganzoo.api import load

    started = time.perf_counter()
    check_seed(seed)
    check_int(batch_size, "--batch-size", 1, MAX_EVAL_BATCH)
    check_int(max_reference, "--max-reference", 1, MAX_EVAL_REFERENCE)
    ckpt = Checkpoint(checkpoint)
    target = resolve_device(device)
    data_kind = ckpt.data_kind
    names = _metric_names(metrics, data_kind)
    if not names:
        raise ConfigError(f"no installed metric measures {data_kind} data")
    count = DEFAULT_SAMPLES[data_kind] if samples is None else samples
    check_int(count, "-n", 2, MAX_EVAL_SAMPLES)
    instances: list[Metric] = [resolve_factory(get_catalog().metric(n).info.factory)()
                               for n in names]  # fmt: skip

    spec, same_data = _reference_spec(ckpt, data)
    entry, argument = dataset_entry(spec)
    if entry.info.data_kind != data_kind:
        raise ConfigError(f"dataset {spec!r} holds {entry.info.data_kind} data, not {data_kind}")
    train_seed, train_size = _training_request_values(ckpt)

    generator = load(checkpoint, device=str(target), ema=not no_ema)
    shape = generator.data_shape
    request = DataRequest(
        argument=argument,
        resolution=shape[1] if len(shape) == 3 else 0,
        channels=shape[0] if len(shape) == 3 else 0,
        # The same seed and size as in training, so procedural references are the same set.
        seed=train_seed if same_data else 0,
        size=train_size if same_data else None,
        max_pixels=max_image_pixels,
        report=note,
    )
    network = None
    if any(metric.needs_inception for metric in instances):
        from ganzoo.core.evaluation.inception import load_inception

        network = load_inception(inception, target)  # missing: one sentence before any work
    real = load_dataset(spec, request)
    if real.shape != tuple(shape):
        raise ConfigError(f"dataset {spec!r} gives samples of shape {real.shape}, "
                          f"the generator makes {tuple(shape)}")  # fmt: skip
    ctx = EvalContext(
        # Streamed: made a block at a time on the device when a metric first reads it.
        generated=GeneratedSamples(generator, count, seed),
        real=real,
        device=target,
        seed=seed,
        inception_weights=inception,
        batch_size=batch_size,
        max_reference=max_reference,
        report=note,
        progress=progress,
    )
    if network is not None:
        ctx.memo("inception", lambda: network)
    result = EvalResult(Path(checkpoint), ckpt.step, spec, count, generator.weights, names)
    for metric in instances:
        result.results.update(metric.compute(ctx))
    result.seconds = time.perf_counter() - started

    folder = _run_folder_of(Path(checkpoint))
    if folder is not None:
        folder.append_metrics({"step": result.step, "eval": result.as_dict()})
        result.logged_to = folder.metrics_path
    return result
