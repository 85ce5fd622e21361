"""Data inside the core: stores and their named fields, batches, pictures read."""
