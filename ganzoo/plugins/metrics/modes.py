"""Mode coverage on 2D Gaussian mixtures, as defined by VEEGAN and PacGAN.

- A sample is high quality when it lies within 3 standard deviations of its nearest mode.
- A mode is captured when at least one high-quality sample is nearest to it.
- Reverse KL: KL(p || uniform) of the histogram of high-quality samples over the modes
  (PacGAN's figure of merit; 0 when the captured samples are spread evenly over all modes).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ganzoo.core.errors import ConfigError
from ganzoo.core.evaluation.evaluate import EvalContext, Metric

LITERATURE_SAMPLES = 2500


def mode_coverage(samples: Tensor, means: Tensor, std: float) -> dict[str, float]:
    samples = samples.double()
    means = means.double()
    distances = torch.cdist(samples, means)
    nearest_distance, nearest = distances.min(dim=1)
    good = nearest_distance <= 3 * std
    counts = torch.bincount(nearest[good], minlength=len(means)).double()
    captured = int((counts > 0).sum())
    total_good = float(counts.sum())
    if total_good > 0:
        p = counts / total_good
        nonzero = p > 0
        reverse_kl = float((p[nonzero] * torch.log(p[nonzero] * len(means))).sum())
    else:
        reverse_kl = math.inf  # no high-quality sample at all: nothing is covered
    return {
        "modes": float(captured),
        "modes_total": float(len(means)),
        "high_quality": 100.0 * total_good / len(samples),
        "reverse_kl": reverse_kl,
    }


class ModeCoverage(Metric):
    def compute(self, ctx: EvalContext) -> dict[str, float]:
        if ctx.real.modes is None:
            raise ConfigError("the 'modes' metric needs a mixture with known modes (ring8, grid25)")
        means, std = ctx.real.modes
        return mode_coverage(ctx.fake, means, std)
