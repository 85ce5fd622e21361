"""ADA, adaptive discriminator augmentation (Karras et al. 2020, arXiv:2006.06676).

Every image D sees, real or generated, in D's update and in G's, goes through a pipeline
of transforms, each applied to each image with probability ``p`` (drawn per image):

- blit: ``xflip`` (a horizontal flip, then with probability 1/2), ``rotate90`` (by a
  multiple of 90 degrees), ``xint`` (a whole-pixel translation of up to 1/8 of the side);
- geom: ``scale`` (isotropic, 2^N(0, 0.2²)), ``rotate`` (uniform over the full circle,
  before and after ``aniso``, each with probability 1 - sqrt(1 - p) so that at least one
  happens with probability p), ``aniso`` (2^N(0, 0.2²) along x, its inverse along y),
  ``xfrac`` (a fractional translation, N(0, 0.125²) of the side);
- color: ``brightness`` (+ N(0, 0.2²)), ``contrast`` (x 2^N(0, 0.5²)), ``lumaflip``
  (mirroring the colour about the grey axis, with probability 1/2), ``hue`` (a rotation
  about the grey axis, uniform over the full circle), ``saturation`` (x 2^N(0, 1)).

These are the transforms and magnitudes of StyleGAN2-ADA's default pipeline ("bgc"), in
its order. The geometric ones are composed into one affine map per image and applied in
one resampling (torch's ``affine_grid`` + ``grid_sample``, bilinear, reflection padding),
where StyleGAN2-ADA also low-pass filters; the colour ones into one affine map of the
colour. Both are differentiable; an image no transform touched is passed on unchanged.

``p`` follows D's overfitting: r_t = E[sign(D(x))] over the real images D saw is near 0
when D cannot tell real from fake and near 1 when it has learnt the training images.
Every ``interval`` D updates, p moves by sign(r_t - target) x (real images seen since the
last adjustment) / ``speed``, and stays in [0, 1]. ``speed`` is the number of real images
it takes p to go from 0 to 1. StyleGAN2-ADA uses 500k, about 2 % of its runs of ~25M
images; a default ganzoo run shows D 128k real images (2,000 steps of 64), in which p could
then reach only 0.26, while on a few hundred images D overfits within a hundred steps. The
default here is 20k. Measured (docs/zoo.md, "ADA"): dcgan on 256 images at batch 32, p
rose to its balance (0.70-0.74, r_t within 0.1 of the target) in about 600 steps with 20k,
and was still rising at 0.51 (r_t 0.65-0.72) after 1,000 steps with 50k. One adjustment
(4 x 64 images) then moves p by 0.013. For runs much longer than ganzoo's defaults, give a
larger ``speed``. The count is of D's outputs: with PacGAN packing (``-o pack=m``) one
output judges m images, so p moves m times slower for the same ``speed``.

The state (``p``, the running sum and count of sign(D(x)) since the last adjustment, the
D updates since then, and the last r_t) is saved in every checkpoint as
``augment_state.*``; a resumed run continues exactly. ``ada_p`` and ``ada_rt`` are logged
with the losses. As the paper warns, transforms start to "leak" into G's images when p
approaches 1 (above ~0.8 for most of them); a p that climbs that high says the data set is
too small for the model rather than that more augmentation helps.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ganzoo.core.errors import ConfigError
from ganzoo.core.training.augment import Augment
from ganzoo.plugins.augment.draws import Draws

GROUPS = {
    "blit": ("xflip", "rotate90", "xint"),
    "geom": ("scale", "rotate", "aniso", "xfrac"),
    "color": ("brightness", "contrast", "lumaflip", "hue", "saturation"),
}
OPS = GROUPS["blit"] + GROUPS["geom"] + GROUPS["color"]
GEOMETRIC = frozenset(GROUPS["blit"] + GROUPS["geom"])

# StyleGAN2-ADA's magnitudes, on images in [-1, 1].
XINT_MAX = 0.125  # whole-pixel translation, fraction of the side
SCALE_STD = 0.2  # log2 of the isotropic scale
ROTATE_MAX = 1.0  # fraction of a half turn each way
ANISO_STD = 0.2  # log2 of the anisotropic scale
XFRAC_STD = 0.125  # fractional translation, fraction of the side
BRIGHTNESS_STD = 0.2
CONTRAST_STD = 0.5  # log2
HUE_MAX = 1.0  # fraction of a half turn each way
SATURATION_STD = 1.0  # log2


def parse_ops(text: str) -> frozenset[str]:
    """``"blit+hue"`` -> the transforms named, groups expanded."""
    chosen: set[str] = set()
    for part in text.split("+"):
        name = part.strip()
        if name in GROUPS:
            chosen.update(GROUPS[name])
        elif name in OPS:
            chosen.add(name)
        else:
            raise ConfigError(
                f"ada ops {text!r}: {name!r} is neither a group ({', '.join(GROUPS)}) nor a "
                f"transform ({', '.join(OPS)}); join several with '+'"
            )
    return frozenset(chosen)


def _eye(n: int, size: int, device: torch.device) -> Tensor:
    return torch.eye(size, device=device).repeat(n, 1, 1)


def _scale2d(sx: Tensor, sy: Tensor) -> Tensor:
    m = _eye(sx.shape[0], 3, sx.device)
    m[:, 0, 0], m[:, 1, 1] = sx, sy
    return m


def _rotate2d(cos: Tensor, sin: Tensor) -> Tensor:
    m = _eye(cos.shape[0], 3, cos.device)
    m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = cos, -sin, sin, cos
    return m


def _translate2d(tx: Tensor, ty: Tensor) -> Tensor:
    m = _eye(tx.shape[0], 3, tx.device)
    m[:, 0, 2], m[:, 1, 2] = tx, ty
    return m


def _gated(gate: Tensor, value: Tensor, neutral: float) -> Tensor:
    return torch.where(gate, value, torch.full_like(value, neutral))


def _quarter_turns(quarter: Tensor) -> tuple[Tensor, Tensor]:
    """cos and sin of ``quarter`` (0..3) quarter turns, exact (torch.cos(pi / 2) is not 0),
    made on the device: a table copied from the host would wait for the GPU."""
    one, zero = (
        torch.ones_like(quarter, dtype=torch.float32),
        torch.zeros_like(quarter, dtype=torch.float32),
    )
    cos = torch.where(quarter == 0, one, torch.where(quarter == 2, -one, zero))
    sin = torch.where(quarter == 1, one, torch.where(quarter == 3, -one, zero))
    return cos, sin


class ADA(Augment):
    def __init__(
        self,
        target: float = 0.6,
        interval: int = 4,
        speed: int = 20_000,
        p: float = 0.0,
        adaptive: bool = True,
        ops: str = "blit+geom+color",
    ) -> None:
        self.target, self.interval, self.speed = float(target), int(interval), int(speed)
        self.adaptive = bool(adaptive)
        self.ops = parse_ops(ops)
        if not (0.0 <= float(p) <= 1.0 and 0.0 <= self.target <= 1.0):
            raise ConfigError("ada p and target must be numbers in [0, 1]")
        if self.interval < 1 or self.speed < 1:
            raise ConfigError("ada interval and speed must be at least 1")
        self.p = torch.tensor(float(p))
        self.sign_sum = torch.zeros(())
        self.sign_count = torch.zeros((), dtype=torch.int64)
        self.batches = torch.zeros((), dtype=torch.int64)
        self.rt = torch.zeros(())

    # --- state -------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Tensor]:
        return {
            "p": self.p,
            "sign_sum": self.sign_sum,
            "sign_count": self.sign_count,
            "batches": self.batches,
            "rt": self.rt,
        }

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        """Check every value before changing anything; a bad one raises ValueError."""
        mine = self.state_dict()
        if set(state) != set(mine):
            odd = sorted(set(state) ^ set(mine))
            raise ValueError(f"the ADA state has or lacks {odd[0]!r}")
        for key, tensor in mine.items():
            value = state[key]
            if not isinstance(value, Tensor) or value.shape != () or value.dtype != tensor.dtype:
                raise ValueError(f"ADA {key} must be a single {tensor.dtype} value")
        p, total, rt = (float(state[k]) for k in ("p", "sign_sum", "rt"))
        count, batches = int(state["sign_count"]), int(state["batches"])
        if not (math.isfinite(p) and 0.0 <= p <= 1.0):
            raise ValueError(f"ADA p must be a number in [0, 1]; got {p:g}")
        if not 0 <= batches < self.interval:
            raise ValueError(f"ADA batches must lie in [0, {self.interval}); got {batches}")
        if count < 0 or not (math.isfinite(total) and abs(total) <= count):
            raise ValueError(
                f"ADA sign_sum must lie in [-sign_count, sign_count]; got {total:g} of {count}"
            )
        if not (math.isfinite(rt) and -1.0 <= rt <= 1.0):
            raise ValueError(f"ADA rt must be a number in [-1, 1]; got {rt:g}")
        device = self.p.device
        for key in mine:
            setattr(self, key, state[key].to(device).clone())

    def to(self, device: torch.device | str) -> ADA:
        for key, value in self.state_dict().items():
            setattr(self, key, value.to(device))
        return self

    def diagnostics(self) -> dict[str, Tensor]:
        return {"ada_p": self.p.detach(), "ada_rt": self.rt.detach()}

    # --- the heuristic -----------------------------------------------------------------

    def update(self, real_logits: Tensor) -> None:
        """Add sign(D(x)) of this batch, one value per image (a patch discriminator's signs
        averaged over its patches); every ``interval`` batches adjust p and start again.
        All on tensors: no host synchronisation."""
        n = real_logits.shape[0]
        signs = torch.sign(real_logits.detach().float()).reshape(n, -1).mean(1)
        total = self.sign_sum + signs.sum().to(self.sign_sum.device)
        count = self.sign_count + n
        batches = self.batches + 1
        due = batches >= self.interval
        rt = total / count.clamp(min=1)
        if self.adaptive:
            moved = self.p + torch.sign(rt - self.target) * count / self.speed
            self.p = torch.where(due, moved.clamp(0.0, 1.0), self.p)
        self.rt = torch.where(due, rt, self.rt)
        self.sign_sum = torch.where(due, torch.zeros_like(total), total)
        self.sign_count = torch.where(due, torch.zeros_like(count), count)
        self.batches = torch.where(due, torch.zeros_like(batches), batches)

    # --- the pipeline ------------------------------------------------------------------

    def __call__(self, images: Tensor, generator: torch.Generator | None) -> Tensor:
        draws = Draws(generator, images.device)
        p = self.p.to(images.device)
        if self.ops & GEOMETRIC:
            images = self._geometric(images, draws, p)
        if images.shape[1] in (1, 3) and self.ops - GEOMETRIC:
            images = self._colour(images, draws, p)
        return images

    def _gate(self, draws: Draws, n: int, p: Tensor) -> Tensor:
        return draws.uniform(n) < p

    def _geometric(self, images: Tensor, draws: Draws, p: Tensor) -> Tensor:
        """One affine map per image, from output to input pixels (centred pixel units),
        built as StyleGAN2-ADA builds its G_inv."""
        n, _, height, width = images.shape
        device = images.device
        ops = self.ops
        inverse = _eye(n, 3, device)
        if "xflip" in ops:
            flip = _gated(self._gate(draws, n, p), torch.floor(draws.uniform(n) * 2), 0.0)
            inverse = inverse @ _scale2d(1 - 2 * flip, torch.ones_like(flip))
        if "rotate90" in ops:
            quarter = torch.floor(draws.uniform(n) * 4).long()
            quarter = torch.where(self._gate(draws, n, p), quarter, torch.zeros_like(quarter))
            inverse = inverse @ _rotate2d(*_quarter_turns(quarter))
        if "xint" in ops:
            shift = (draws.uniform(n, 2) * 2 - 1) * XINT_MAX
            shift = _gated(self._gate(draws, n, p)[:, None], shift, 0.0)
            inverse = inverse @ _translate2d(
                -torch.round(shift[:, 0] * width), -torch.round(shift[:, 1] * height)
            )
        if "scale" in ops:
            scale = _gated(self._gate(draws, n, p), torch.exp2(draws.normal(n) * SCALE_STD), 1.0)
            inverse = inverse @ _scale2d(1 / scale, 1 / scale)
        # Two rotations, each with 1 - sqrt(1 - p): at least one with probability p.
        p_rotate = 1 - torch.sqrt((1 - p).clamp(0.0, 1.0))
        for part in ("before", "after"):
            if part == "after" and "aniso" in ops:
                stretch = torch.exp2(draws.normal(n) * ANISO_STD)
                stretch = _gated(self._gate(draws, n, p), stretch, 1.0)
                inverse = inverse @ _scale2d(1 / stretch, stretch)
            if "rotate" in ops:
                angle = (draws.uniform(n) * 2 - 1) * math.pi * ROTATE_MAX
                angle = _gated(self._gate(draws, n, p_rotate), angle, 0.0)
                inverse = inverse @ _rotate2d(torch.cos(angle), torch.sin(angle))
        if "xfrac" in ops:
            shift = _gated(self._gate(draws, n, p)[:, None], draws.normal(n, 2) * XFRAC_STD, 0.0)
            inverse = inverse @ _translate2d(-shift[:, 0] * width, -shift[:, 1] * height)

        moved = (inverse != _eye(n, 3, device)).flatten(1).any(1)
        # Centred pixel units -> the [-1, 1] units of affine_grid (align_corners=False).
        to_unit = _scale2d(torch.full((n,), 2 / width, device=device),
                           torch.full((n,), 2 / height, device=device))  # fmt: skip
        to_pixels = _scale2d(torch.full((n,), width / 2, device=device),
                             torch.full((n,), height / 2, device=device))  # fmt: skip
        theta = (to_unit @ inverse @ to_pixels)[:, :2, :]
        grid = F.affine_grid(theta, list(images.shape), align_corners=False)
        warped = F.grid_sample(
            images, grid.to(images.dtype), mode="bilinear", padding_mode="reflection",
            align_corners=False,
        )  # fmt: skip
        return torch.where(moved[:, None, None, None], warped, images)

    def _colour(self, images: Tensor, draws: Draws, p: Tensor) -> Tensor:
        """One affine map of the colour per image, x -> A x + b, composed in the order of
        StyleGAN2-ADA's pipeline."""
        n, channels = images.shape[:2]
        device = images.device
        ops = self.ops
        eye = _eye(n, 3, device)
        matrix, offset = eye.clone(), torch.zeros(n, 3, device=device)
        grey = torch.full((3,), 1 / math.sqrt(3), device=device)  # the luma axis
        along = torch.outer(grey, grey)

        def then(gate: Tensor, linear: Tensor, shift: Tensor | None = None) -> None:
            """Apply ``linear`` (and ``shift``) after what is there, where ``gate``."""
            nonlocal matrix, offset
            linear = torch.where(gate[:, None, None], linear, eye)
            matrix = linear @ matrix
            offset = (linear @ offset[:, :, None])[:, :, 0]
            if shift is not None:
                offset = offset + torch.where(gate[:, None], shift, torch.zeros_like(shift))

        if "brightness" in ops:
            gate, value = self._gate(draws, n, p), draws.normal(n) * BRIGHTNESS_STD
            then(gate, eye, value[:, None].expand(n, 3))
        if "contrast" in ops:
            gate, value = self._gate(draws, n, p), torch.exp2(draws.normal(n) * CONTRAST_STD)
            then(gate, eye * value[:, None, None])
        if "lumaflip" in ops:
            gate, flip = self._gate(draws, n, p), torch.floor(draws.uniform(n) * 2)
            then(gate, eye - 2 * along * flip[:, None, None])
        if "hue" in ops:
            gate, angle = self._gate(draws, n, p), (draws.uniform(n) * 2 - 1) * math.pi * HUE_MAX
            cos, sin = torch.cos(angle)[:, None, None], torch.sin(angle)[:, None, None]
            # The cross-product matrix of the luma axis, [[0, -1, 1], [1, 0, -1], [-1, 1, 0]]
            # / sqrt(3): P - P^T for the cyclic permutation P, built on the device.
            cycle = torch.eye(3, device=device).roll(1, 0)
            cross = (cycle - cycle.T) / math.sqrt(3)
            then(gate, cos * eye + sin * cross + (1 - cos) * along)  # Rodrigues' formula
        if "saturation" in ops:
            gate, value = self._gate(draws, n, p), torch.exp2(draws.normal(n) * SATURATION_STD)
            then(gate, along + (eye - along) * value[:, None, None])

        changed = (matrix != eye).flatten(1).any(1) | (offset != 0).any(1)
        flat = images.reshape(n, channels, -1)
        if channels == 3:
            mixed = matrix.to(flat.dtype) @ flat + offset.to(flat.dtype)[:, :, None]
        else:  # grey images: the mean of the three output channels for a grey input
            gain = matrix.sum(2).mean(1)
            mixed = (
                flat * gain.to(flat.dtype)[:, None, None]
                + offset.mean(1).to(flat.dtype)[:, None, None]
            )
        return torch.where(changed[:, None, None, None], mixed.reshape(images.shape), images)
