"""Built-in dataset sources: image folders, procedural shapes and the 2D toy mixtures.

Only descriptors live here; the loaders (and torch, PIL, numpy) are imported on first use,
so listing plugins stays cheap.
"""

from ganzoo import hookimpl
from ganzoo.zoo.descriptors import DatasetInfo

_PACKAGE = "ganzoo.plugins.datasets"


@hookimpl
def register_datasets(register):
    register(
        DatasetInfo(
            name="folder",
            description="Images in a folder (flat or class subfolders), decoded once and cached",
            factory=f"{_PACKAGE}.folder:load",
            data_kind="image",
            argument="PATH",
            argument_required=True,
            provides=("x", "label"),
        )
    )
    register(
        DatasetInfo(
            name="paired",
            description="Paired images (A|B side by side, or A/ and B/ with matching names)",
            factory=f"{_PACKAGE}.paired:load",
            data_kind="image",
            argument="PATH",
            argument_required=True,
            provides=("source", "target"),
        )
    )
    register(
        DatasetInfo(
            name="unpaired",
            description="Two unpaired image domains: PATH with trainA/ and trainB/, or A,B",
            factory=f"{_PACKAGE}.unpaired:load",
            data_kind="image",
            argument="PATH|A,B",
            argument_required=True,
            provides=("a", "b"),
        )
    )
    register(
        DatasetInfo(
            name="shapes",
            description="Procedural compositions of coloured shapes, labelled by kind of shape",
            factory=f"{_PACKAGE}.shapes:load",
            data_kind="image",
            provides=("x", "label"),
        )
    )
    register(
        DatasetInfo(
            name="edges2shapes",
            description="Procedural pairs: an edge map (source) and the shapes picture (target)",
            factory=f"{_PACKAGE}.edges2shapes:load",
            data_kind="image",
            provides=("source", "target"),
        )
    )
    register(
        DatasetInfo(
            name="shapestyles",
            description="Two unpaired procedural domains: shapes in two different styles",
            factory=f"{_PACKAGE}.shapestyles:load",
            data_kind="image",
            provides=("a", "b"),
        )
    )
    register(
        DatasetInfo(
            name="ring8",
            description="8 Gaussians on the unit circle, std 0.01 (PacGAN's 2D ring)",
            factory=f"{_PACKAGE}.toy2d:load_ring8",
            data_kind="points",
            provides=("x", "label"),
        )
    )
    register(
        DatasetInfo(
            name="grid25",
            description="25 Gaussians on the grid {-4,-2,0,2,4}^2, std 0.05 (PacGAN's 2D grid)",
            factory=f"{_PACKAGE}.toy2d:load_grid25",
            data_kind="points",
            provides=("x", "label"),
        )
    )
