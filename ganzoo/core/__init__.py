"""Core: interfaces, the shared trainer, checkpoints, data stores and run folders."""
