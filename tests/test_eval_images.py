"""`ganzoo eval` on images with the real FID Inception network (converted offline from the
test fixture), and FID checked against an independent computation."""

import json
import math

import pytest
import torch
from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

from ganzoo.core.data.store import DataRequest
from ganzoo.core.evaluation.inception import extract_features, load_inception
from ganzoo.core.evaluation.inception_weights import import_weights
from ganzoo.core.training.session import start_run
from ganzoo.plugins.datasets.shapes import load as shapes
from ganzoo.plugins.metrics.image import frechet_distance


@pytest.fixture(scope="module")
def inception_path(tmp_path_factory, fid_helper_file):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GANZOO_CACHE_DIR", str(tmp_path_factory.mktemp("weights")))
        return import_weights(fid_helper_file)


def _independent_frechet(a: torch.Tensor, b: torch.Tensor) -> float:
    """FID through the symmetric form Tr((S1^1/2 S2 S1^1/2)^1/2), eigh in float64: another
    route than torch-fidelity's eigenvalues of S1 S2."""
    a, b = a.double(), b.double()
    s1, s2 = torch.cov(a.T), torch.cov(b.T)
    w, v = torch.linalg.eigh(s1)
    root1 = v @ torch.diag(w.clamp(min=0).sqrt()) @ v.T
    inner = torch.linalg.eigvalsh(root1 @ s2 @ root1).clamp(min=0)
    mean = float(((a.mean(0) - b.mean(0)) ** 2).sum())
    return mean + float(torch.trace(s1) + torch.trace(s2) - 2 * inner.sqrt().sum())


@pytest.mark.slow
def test_fid_agrees_with_an_independent_computation(inception_path, fid_helper_file):
    first = shapes(DataRequest(None, 32, 3, seed=1, size=16)).tensor
    second = shapes(DataRequest(None, 32, 3, seed=2, size=16)).tensor
    net = load_inception(str(inception_path))
    ours = frechet_distance(extract_features(net, first), extract_features(net, second))

    # The reference network: fid-helper's TorchScript module (NVIDIA's conversion of the
    # TensorFlow graph), fed the same TF-style resize and scaling as torch-fidelity applies.
    reference = torch.jit.load(str(fid_helper_file), map_location="cpu").eval()

    def reference_features(images):
        x = interpolate_bilinear_2d_like_tensorflow1x(images.float(), size=(299, 299),
                                                      align_corners=False)  # fmt: skip
        with torch.no_grad():
            return reference((x - 128) / 128).flatten(1)

    theirs = _independent_frechet(reference_features(first), reference_features(second))
    assert ours > 1.0
    assert ours == pytest.approx(theirs, rel=1e-3)
    assert abs(frechet_distance(*[extract_features(net, first)] * 2)) < 1e-3


@pytest.mark.slow
def test_eval_images_end_to_end_with_cached_reference(run_cli, tmp_path, inception_path):
    run = start_run(
        "dcgan",
        dict(dataset="shapes", resolution=16, model_options={"width": 8, "latent_dim": 16},
             dataset_size=16, batch_size=8, steps=2, out=tmp_path / "run"),
    )  # fmt: skip
    args = ["eval", run.checkpoint, "-n", "16", "--inception", inception_path, "--json"]
    first = run_cli(*args)
    assert first.code == 0, first.err
    report = json.loads(first.out)
    results = report["results"]
    assert report["metrics"] == ["fid", "kid", "pr"] and report["samples"] == 16
    assert set(results) == {"fid", "kid", "kid_std", "precision", "recall"}
    assert all(math.isfinite(v) for v in results.values())
    assert results["fid"] > 0 and 0 <= results["precision"] <= 1 and 0 <= results["recall"] <= 1
    assert "using cached reference features" not in first.err

    second = run_cli(*args)
    assert "using cached reference features (16 images)" in second.err
    assert json.loads(second.out)["results"] == results  # same seed, same numbers

    log = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in log if "eval" in r]
    assert len(evals) == 2 and evals[-1]["step"] == 2


def test_missing_feature_network_is_one_line(run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_OFFLINE", "1")
    monkeypatch.delenv("GANZOO_INCEPTION_WEIGHTS", raising=False)
    run = start_run(
        "mlp",
        dict(dataset="shapes", resolution=8, dataset_size=16, batch_size=8, steps=1,
             model_options={"hidden": 8}, out=tmp_path / "run"),
    )  # fmt: skip
    result = run_cli("eval", run.checkpoint, "-n", "8", "-m", "fid")
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "--inception" in lines[0] and "GANZOO_INCEPTION_WEIGHTS" in lines[0]
