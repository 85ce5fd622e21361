"""Training progress: a rich bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import Any

from ganzoo.console import is_terminal


def format_metrics(metrics: dict[str, float]) -> str:
    return "  ".join(f"{k} {v:.4f}" for k, v in metrics.items())


def short_metrics(metrics: dict[str, float]) -> str:
    """The live losses, short enough for an 80-column terminal."""
    short = {"d_loss": "D", "g_loss": "G"}
    return " ".join(f"{short[k]} {v:.3f}" for k, v in metrics.items() if k in short)


class TrainingProgress:
    def __init__(
        self, total: int, start: int, log_every: int, title: str, quiet: bool = False
    ) -> None:
        self.total = total
        self.start = start
        self.log_every = log_every
        self.title = title
        # quiet: keeps the rate, shows nothing (the other ranks of a distributed run).
        self.quiet = quiet
        self.rich = not quiet and is_terminal(sys.stderr)
        self._bar: Any = None
        self._t0 = time.perf_counter()
        self._last_t = self._t0
        self._last_step = start
        self.rate = 0.0

    def __enter__(self) -> TrainingProgress:
        if self.rich:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(bar_width=20),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TextColumn("{task.fields[metrics]}"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self._bar.__enter__()
            self._task = self._bar.add_task(
                self.title, total=self.total, completed=self.start, rate="", metrics=""
            )
        elif not self.quiet:
            sys.stderr.write(f"{self.title}: step {self.start}/{self.total}\n")
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def update(self, step: int, metrics: dict[str, float] | None) -> None:
        """Called every step; ``metrics`` is given every ``log_every`` steps."""
        now = time.perf_counter()
        if metrics is not None:
            self.rate = (step - self._last_step) / max(now - self._last_t, 1e-9)
            self._last_t, self._last_step = now, step
        if self._bar is not None:
            fields: dict[str, Any] = {}
            if metrics is not None:
                fields = {"rate": f"{self.rate:.1f} it/s", "metrics": short_metrics(metrics)}
            self._bar.update(self._task, completed=step, **fields)
        elif metrics is not None and not self.quiet:
            sys.stderr.write(
                f"step {step}/{self.total}  {self.rate:.1f} it/s  {format_metrics(metrics)}\n"
            )
            sys.stderr.flush()

    def message(self, text: str) -> None:
        if self._bar is not None:
            self._bar.console.print(text)
        elif not self.quiet:
            sys.stderr.write(text + "\n")


class FeatureProgress:
    """Progress of a job over images (feature extraction, translation), one bar (or a few
    plain lines) per image set; ``prefix`` names the job."""

    def __init__(self, prefix: str = "features: ") -> None:
        self.prefix = prefix
        self.rich = is_terminal(sys.stderr)
        self._bar: Any = None
        self._tasks: dict[str, Any] = {}
        self._printed: dict[str, int] = {}

    def __enter__(self) -> FeatureProgress:
        if self.rich:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(bar_width=30),
                MofNCompleteColumn(),
                console=Console(stderr=True),
            )
            self._bar.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def __call__(self, label: str, done: int, total: int) -> None:
        if self._bar is not None:
            if label not in self._tasks:
                self._tasks[label] = self._bar.add_task(f"{self.prefix}{label}", total=total)
            self._bar.update(self._tasks[label], completed=done)
            return
        quarter = 4 * done // max(total, 1)
        if quarter > self._printed.get(label, 0) or done == total:
            if self._printed.get(label) != 4:
                sys.stderr.write(f"{self.prefix}{label} {done}/{total}\n")
            self._printed[label] = quarter
