"""An example ganzoo plugin: the ``tinyconv`` GAN and the ``least-squares-r1`` (LSGAN) loss.

Importing this package imports nothing heavy; the networks and the loss are imported by
ganzoo only when a run asks for them.
"""

__version__ = "0.1.0"
