"""Using a trained checkpoint: loading it, sampling, translating, restoring."""
