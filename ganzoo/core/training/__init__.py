"""Training: the run plan, the trainer, steps, optimisers, EMA, state, run folders."""
