"""Evaluation: metrics over a checkpoint's samples, Inception features, reference caches."""
