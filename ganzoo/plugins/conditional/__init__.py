"""Built-in conditional family (in progress)."""
