"""Built-in metrics: FID, KID and precision/recall on Inception features; 2D mode coverage."""

from ganzoo import hookimpl
from ganzoo.zoo.descriptors import MetricInfo

_PACKAGE = "ganzoo.plugins.metrics"


@hookimpl
def register_metrics(register):
    register(
        MetricInfo(
            name="fid",
            description="Fréchet Inception Distance (lower is better)",
            factory=f"{_PACKAGE}.image:FID",
            reference="Heusel et al. 2017, arXiv:1706.08500",
        )
    )
    register(
        MetricInfo(
            name="kid",
            description="Kernel Inception Distance: cubic-kernel MMD² (lower is better)",
            factory=f"{_PACKAGE}.image:KID",
            reference="Bińkowski et al. 2018, arXiv:1801.01401",
        )
    )
    register(
        MetricInfo(
            name="pr",
            description="Improved precision and recall, k=3 nearest neighbours (higher is better)",
            factory=f"{_PACKAGE}.image:PrecisionRecall",
            reference="Kynkäänniemi et al. 2019, arXiv:1904.06991",
        )
    )
    register(
        MetricInfo(
            name="modes",
            description="Modes captured, % high-quality samples, reverse KL (2D mixtures)",
            factory=f"{_PACKAGE}.modes:ModeCoverage",
            data_kind="points",
            reference="Srivastava et al. 2017 (VEEGAN); Lin et al. 2018 (PacGAN)",
        )
    )
