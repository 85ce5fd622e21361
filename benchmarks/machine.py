"""The one-line description of the machine every benchmark prints beside its figures."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU used"
    return (
        f"{os.cpu_count()} logical CPUs ({cpu}), Python {platform.python_version()}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} torch thread(s), {gpu}"
    )
