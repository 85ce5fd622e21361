"""``--compile``: the networks a training step calls, wrapped in ``torch.compile``, and a
first step that falls back to the plain networks when compiling fails.

The wrappers share the networks' parameters; checkpoints, EMA and pictures keep using the
networks themselves, so no state-dict key gains ``_orig_mod.``. torch compiles at the first
call, so the first compiled step is guarded: everything it changes is copied before it, and
if it raises (no C++ compiler, an unsupported operation) the copy is put back, one line
says why, and the step is taken again uncompiled. A failure after the first step is not
caught: by then the compiled graphs have run. In a distributed run the first step is not
retaken (ranks failing at different collectives would deadlock): a failure stops the run.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from ganzoo.console import note
from ganzoo.core.device import compile_networks, failure_line
from ganzoo.core.errors import TrainingError
from ganzoo.core.interfaces import Loss
from ganzoo.core.training import rng
from ganzoo.core.training.optimizers import match_state
from ganzoo.core.training.steps import StepContext

if TYPE_CHECKING:
    from ganzoo.core.training.trainer import Trainer


def needs_double_backward(trainer: Trainer) -> bool:
    """A gradient penalty (the loss's, or ``--reg``) differentiates D's gradient, which
    torch.compile's autograd does not support."""
    penalty = type(trainer.plan.loss).discriminator_penalty is not Loss.discriminator_penalty
    return penalty or trainer.regularizer is not None


def compiled_networks(trainer: Trainer) -> tuple[dict[str, nn.Module], bool]:
    """The networks the step should call, and whether a compiled one awaits its first call
    (which ``guarded_step`` then watches)."""
    names = set(trainer.networks)
    if needs_double_backward(trainer):
        held = {
            name
            for group in trainer.info.optimizers
            if group.role == "discriminator"
            for name in group.networks
        }
        if names & held:
            note(
                f"--compile: {', '.join(sorted(names & held))} stay uncompiled (the gradient "
                "penalty differentiates twice, which torch.compile does not support)"
            )
        names -= held
    compiled, problem = compile_networks(trainer.networks, names)
    if problem is not None:
        note(f"--compile: torch cannot compile here ({problem}); training uncompiled")
        return trainer.networks, False
    return compiled, bool(names)


def guarded_step(
    trainer: Trainer, ctx: StepContext, say: Callable[[str], Any]
) -> dict[str, Tensor]:
    """The trainer's step; the first compiled one is undone and taken again uncompiled if
    it fails, so ``--compile`` never costs a run."""
    if not trainer.compile_pending:
        return trainer.train_step(ctx)
    if trainer.ranks.active:
        # Ranks that fail at different moments of the step would meet in different
        # collectives if one retook the step: a failure stops the run instead.
        try:
            metrics = trainer.train_step(ctx)
        except Exception as error:
            raise TrainingError(
                f"--compile failed in a distributed run ({failure_line(error)}); "
                "run again without --compile"
            ) from None
        trainer.compile_pending = False
        return metrics
    saved = _capture(trainer)
    try:
        metrics = trainer.train_step(ctx)
    except Exception as error:  # whatever compiling raised; a real fault raises again
        _undo(trainer, saved)
        trainer.step_networks = ctx.networks = trainer.networks
        with contextlib.suppress(Exception):
            torch._dynamo.reset()  # frees what the failed compilation held
        say(f"--compile: compiling failed ({failure_line(error)}); training uncompiled")
        metrics = trainer.train_step(ctx)
    trainer.compile_pending = False
    return metrics


def _capture(trainer: Trainer) -> dict[str, Any]:
    """Copies of everything a training step changes."""
    return {
        "networks": {n: _cloned(net.state_dict()) for n, net in trainer.networks.items()},
        "requires_grad": [p.requires_grad for p in trainer.model.parameters()],
        "optimizers": {n: copy.deepcopy(o.state_dict()) for n, o in trainer.optimizers.items()},
        "step": _cloned(trainer.train_step.state_dict()),
        "augment": _cloned(trainer.augment.state_dict()),
        "rng": _cloned(rng.capture(trainer.noise)),
        "draws": trainer.batches.draws,
    }


def _undo(trainer: Trainer, saved: dict[str, Any]) -> None:
    """Back to the state ``_capture`` copied."""
    for name, network in trainer.networks.items():
        network.load_state_dict(saved["networks"][name])
    for param, flag in zip(trainer.model.parameters(), saved["requires_grad"]):
        param.requires_grad_(flag)
        param.grad = None
    for name, optimizer in trainer.optimizers.items():
        optimizer.load_state_dict(saved["optimizers"][name])
        match_state(optimizer)
    trainer.train_step.load_state_dict(saved["step"])
    trainer.augment.load_state_dict(saved["augment"])
    rng.restore(saved["rng"], trainer.noise, same_device=True)
    trainer.batches.draws = saved["draws"]


def _cloned(state: dict[str, Tensor]) -> dict[str, Tensor]:
    return {key: value.clone() for key, value in state.items()}
