"""Built-in cyclegan family (in progress)."""
