"""Checkpoints: the safetensors format, reading untrusted files, validation against a model."""

from ganzoo.core.checkpoints.expect import expect_file, expect_modules
from ganzoo.core.checkpoints.format import module_tensors, save_checkpoint
from ganzoo.core.checkpoints.optim import load_optimizer, optimizer_tensors
from ganzoo.core.checkpoints.reader import Checkpoint

__all__ = [
    "Checkpoint",
    "expect_file",
    "expect_modules",
    "load_optimizer",
    "module_tensors",
    "optimizer_tensors",
    "save_checkpoint",
]
