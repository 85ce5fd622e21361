"""Built-in inpainting family (in progress)."""
