"""The registry: hook specifications, plugin loading and the catalog of what plugins give."""
