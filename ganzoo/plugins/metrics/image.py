"""FID, KID and precision/recall on Inception-v3 pool features.

The formulas are torch-fidelity's (the library behind the standard numbers); ganzoo feeds
them features from its own safetensors-loaded Inception network
(``ganzoo.core.evaluation.inception``).
Convention: the first feature set is the generated one, the second the real one.
"""

from __future__ import annotations

from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric
from torch_fidelity.metric_kid import kid_features_to_metric
from torch_fidelity.metric_prc import prc_features_to_metric

from ganzoo.core.errors import ConfigError
from ganzoo.core.evaluation.evaluate import EvalContext, Metric

KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000
PR_NEIGHBOURS = 3


def frechet_distance(fake, real) -> float:
    stats = [fid_features_to_statistics(f.double()) for f in (fake, real)]
    return float(
        fid_statistics_to_metric(stats[0], stats[1], verbose=False)["frechet_inception_distance"]
    )


def kernel_distance(fake, real, seed: int = 0) -> tuple[float, float]:
    size = min(KID_SUBSET_SIZE, len(fake), len(real))
    if size < 2:
        raise ConfigError("KID needs at least 2 generated and 2 reference images")
    out = kid_features_to_metric(
        fake, real, kid_subsets=KID_SUBSETS, kid_subset_size=size, rng_seed=seed, verbose=False
    )
    return out["kernel_inception_distance_mean"], out["kernel_inception_distance_std"]


def precision_recall(fake, real, neighbours: int = PR_NEIGHBOURS) -> tuple[float, float]:
    if min(len(fake), len(real)) <= neighbours:
        raise ConfigError(f"precision/recall needs more than {neighbours} samples in each set")
    out = prc_features_to_metric(
        fake.float(), real.float(), prc_neighborhood=neighbours, prc_batch_size=10000,
        save_cpu_ram=False, verbose=False,
    )  # fmt: skip
    return out["precision"], out["recall"]


class FID(Metric):
    needs_inception = True

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        return {"fid": frechet_distance(ctx.fake_features(), ctx.real_features())}


class KID(Metric):
    needs_inception = True

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        mean, std = kernel_distance(ctx.fake_features(), ctx.real_features(), ctx.seed)
        return {"kid": mean, "kid_std": std}


class PrecisionRecall(Metric):
    needs_inception = True

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        fake, real = ctx.fake_features(), ctx.real_features()
        # Both manifolds from equally many samples, as in the paper (a larger reference set
        # would make real k-NN balls smaller and bias precision down).
        count = min(len(fake), len(real))
        precision, recall = precision_recall(fake[:count], _subset(real, count, ctx.seed))
        return {"precision": precision, "recall": recall}


def _subset(features, count: int, seed: int):
    import torch

    if len(features) == count:
        return features
    order = torch.randperm(len(features), generator=torch.Generator().manual_seed(seed))
    return features[order[:count]]
