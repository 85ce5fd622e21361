"""An example ganzoo plugin: the ``tinyconv`` GAN, the ``tinyada`` family (tinyconv with its
own training step: adaptive discriminator augmentation) and the ``least-squares-r1`` loss.

Importing this package imports nothing heavy; the networks and the loss are imported by
ganzoo only when a run asks for them.
"""

__version__ = "0.1.0"
