"""Built-in pix2pix family (in progress)."""
