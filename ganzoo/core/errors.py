"""Errors a user can hit. The CLI turns each into one line on stderr and an exit code."""

from __future__ import annotations


class GanzooError(Exception):
    """An error with a message meant for the user; ``exit_code`` 2 means bad usage or input."""

    exit_code = 2


class ConfigError(GanzooError):
    """An option value a model, loss, dataset or the trainer cannot accept."""


class UnknownNameError(GanzooError):
    """A model, loss or dataset scheme that no installed plugin provides."""


class DataError(GanzooError):
    """A dataset that cannot be read: missing folder, no readable image, ..."""


class CheckpointError(GanzooError):
    """A file that is not a usable ganzoo checkpoint."""


class PluginError(GanzooError):
    """A plugin that failed to load or register (raised only in strict mode)."""

    exit_code = 1


class TrainingError(GanzooError):
    """A training run that failed after it started."""

    exit_code = 1
