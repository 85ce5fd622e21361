"""Broken third-party plugins never break the CLI; strict mode and disabling work.

Each plugin here is a real entry point: a fake installed distribution (a ``.dist-info``
folder with METADATA and entry_points.txt) next to its module, on PYTHONPATH of a
``python -m ganzoo`` subprocess, so discovery goes through ``importlib.metadata`` exactly
as for a pip-installed plugin.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ganzoo.zoo.plugins import DISABLE_ENV, STRICT_ENV

BUILTIN_PLUGINS = {
    "mlp", "dcgan", "conditional", "pix2pix", "cyclegan", "inpainting", "sngan", "losses",
    "datasets", "metrics", "augment",
}  # fmt: skip

HEADER = """\
from ganzoo import hookimpl
from ganzoo.zoo.descriptors import LossInfo, ModelInfo, Option
"""


@dataclass(frozen=True)
class FakePlugin:
    entry_point: str
    distribution: str
    body: str
    version: str = "1.0"

    @property
    def module(self) -> str:
        return f"{self.entry_point}_plugin"

    @property
    def label(self) -> str:
        return f"{self.entry_point} ({self.distribution} {self.version})"


def install(site: Path, *plugins: FakePlugin) -> Path:
    """Write each plugin as an installed distribution with one ``ganzoo`` entry point."""
    site.mkdir(parents=True, exist_ok=True)
    for plugin in plugins:
        info = site / f"{plugin.distribution.replace('-', '_')}-{plugin.version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {plugin.distribution}\nVersion: {plugin.version}\n"
        )
        (info / "entry_points.txt").write_text(
            f"[ganzoo]\n{plugin.entry_point} = {plugin.module}\n"
        )
        (site / f"{plugin.module}.py").write_text(HEADER + textwrap.dedent(plugin.body))
    return site


def ganzoo(site: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """``python -m ganzoo ARGS`` with ``site`` first on the path and ``env`` added."""
    # conftest.py's clean environment comes too late for the module-scoped fixtures.
    inherited = {k: v for k, v in os.environ.items() if k not in {STRICT_ENV, DISABLE_ENV}}
    path = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "ganzoo", *args],
        env={**inherited, "PYTHONPATH": path, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def as_json(result: subprocess.CompletedProcess) -> Any:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout)


GOOD = FakePlugin(
    "good",
    "ganzoo-fake-good",
    version="2.3.1",
    body="""
    @hookimpl
    def register_models(register):
        register(
            ModelInfo(
                name="fake-good-model",
                description="A model from a healthy third-party plugin",
                factory="good_plugin:build",
                options=(Option("width", "int", 8, minimum=1),),
            )
        )
    """,
)

IMPORT_ERROR = FakePlugin(
    "broken_import",
    "ganzoo-fake-import",
    body="""
    raise RuntimeError("missing native library libfake.so")
    """,
)

HOOK_RAISES = FakePlugin(
    "hook_raises",
    "ganzoo-fake-raises",
    # register_losses runs (and stages its loss) before register_models raises: the
    # catalog must drop the staged loss too, never keeping half a plugin.
    body="""
    @hookimpl
    def register_losses(register):
        register(LossInfo(name="fake-half-loss", description="-", factory="x:y"))

    @hookimpl
    def register_models(register):
        raise RuntimeError("model table is corrupt")
    """,
)

WRONG_TYPE = FakePlugin(
    "wrong_type",
    "ganzoo-fake-wrong-type",
    body="""
    @hookimpl
    def register_models(register):
        register({"name": "fake-dict-model"})
    """,
)

BAD_SIGNATURE = FakePlugin(
    "bad_signature",
    "ganzoo-fake-signature",
    body="""
    @hookimpl
    def register_models(register, extra):
        register(ModelInfo(name="fake-signature-model", description="-", factory="x:y"))
    """,
)

MISSPELLED = FakePlugin(
    "misspelled",
    "ganzoo-fake-misspelled",
    body="""
    @hookimpl
    def register_model(register):
        register(ModelInfo(name="fake-misspelled-model", description="-", factory="x:y"))
    """,
)

DUPLICATE = FakePlugin(
    "duplicate",
    "ganzoo-fake-duplicate",
    body="""
    @hookimpl
    def register_models(register):
        register(ModelInfo(name="fake-dup-extra", description="-", factory="x:y"))
        register(ModelInfo(name="dcgan", description="an impostor", factory="x:y"))
    """,
)

# Sorts after ganzoo-fake-good, so it is the one refused for reusing its model name.
TWIN = FakePlugin(
    "twin",
    "ganzoo-fake-zz-twin",
    body="""
    @hookimpl
    def register_models(register):
        register(ModelInfo(name="fake-good-model", description="a twin", factory="x:y"))
    """,
)

# An entry-point name is the plugin's name in pluggy and in GANZOO_DISABLE_PLUGINS; this
# third-party one takes the name of a built-in plugin.
NAME_CLASH = FakePlugin(
    "losses",
    "ganzoo-fake-clash",
    body="""
    @hookimpl
    def register_losses(register):
        register(LossInfo(name="fake-clash-loss", description="-", factory="x:y"))
    """,
)


@dataclass(frozen=True)
class Case:
    plugin: FakePlugin
    reasons: tuple[str, ...]  # each must appear in the plugin's error
    hidden: tuple[str, ...] = ()  # names it tried to register, which list must not show


BROKEN = {
    "import-error": Case(IMPORT_ERROR, ("import failed", "RuntimeError", "missing native library")),
    "hook-raises": Case(
        HOOK_RAISES,
        ("hook register_models raised RuntimeError", "model table is corrupt"),
        ("fake-half-loss",),
    ),
    "registers-a-dict": Case(
        WRONG_TYPE, ("TypeError", "expected a ModelInfo, got dict"), ("fake-dict-model",)
    ),
    "argument-not-in-spec": Case(
        BAD_SIGNATURE,
        ("invalid hook implementation", "register_models", "extra"),
        ("fake-signature-model",),
    ),
    "misspelled-hook": Case(
        MISSPELLED,
        ("unknown hook 'register_model'", "did you mean 'register_models'?"),
        ("fake-misspelled-model",),
    ),
    "builtin-model-name": Case(
        DUPLICATE,
        (
            "duplicate name",
            "model 'dcgan'",
            f"plugin {DUPLICATE.label}",
            "already registered by plugin dcgan (ganzoo ",
        ),
        ("fake-dup-extra",),
    ),
    "third-party-model-name": Case(
        TWIN,
        (
            "model 'fake-good-model'",
            f"plugin {TWIN.label}",
            f"already registered by plugin {GOOD.label}",
        ),
    ),
    "entry-point-name": Case(NAME_CLASH, ("'losses'", "losses (ganzoo "), ("fake-clash-loss",)),
}


@pytest.fixture(scope="module")
def zoo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site folder with the good plugin and every broken one installed together."""
    return install(tmp_path_factory.mktemp("zoo"), GOOD, *(case.plugin for case in BROKEN.values()))


@pytest.fixture(scope="module")
def plugins(zoo: Path) -> dict[tuple[str, str], dict]:
    """Records by (distribution, entry-point name): entry-point names can clash."""
    return {(r["distribution"], r["name"]): r for r in as_json(ganzoo(zoo, "plugins", "--json"))}


def record_of(plugins: dict[tuple[str, str], dict], plugin: FakePlugin) -> dict:
    return plugins[plugin.distribution, plugin.entry_point]


@pytest.fixture(scope="module")
def catalog(zoo: Path) -> list[dict]:
    return as_json(ganzoo(zoo, "list", "--json"))


def names(entries: list[dict]) -> set[str]:
    return {entry["name"] for entry in entries}


def test_help_works_with_broken_plugins(zoo: Path) -> None:
    result = ganzoo(zoo, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout
    assert result.stderr == ""


def test_plugins_table_shows_each_failure(zoo: Path) -> None:
    result = ganzoo(zoo, "plugins")
    assert result.returncode == 0, result.stderr
    rows = result.stdout.splitlines()
    for case in BROKEN.values():
        plugin = case.plugin
        (row,) = [r for r in rows if r.split()[:2] == [plugin.entry_point, plugin.distribution]]
        assert "failed: " in row


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_plugin_is_reported_failed(plugins: dict, case: str) -> None:
    plugin, reasons = BROKEN[case].plugin, BROKEN[case].reasons
    record = record_of(plugins, plugin)
    assert record["status"] == "failed"
    assert record["version"] == plugin.version
    assert record["provides"] == []
    # One line per reason, so the `ganzoo plugins` table and strict mode's message stay whole.
    assert record["errors"] and all("\n" not in e for e in record["errors"])
    reason = " ".join(record["errors"])
    for part in reasons:
        assert part in reason


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_plugin_gives_nothing_to_list(catalog: list[dict], case: str) -> None:
    plugin, hidden = BROKEN[case].plugin, BROKEN[case].hidden
    assert not [e for e in catalog if e["distribution"] == plugin.distribution]
    assert not names(catalog) & set(hidden)


def test_builtin_plugins_still_ok(plugins: dict, catalog: list[dict]) -> None:
    builtins = {name: r for (dist, name), r in plugins.items() if dist == "ganzoo"}
    assert set(builtins) == BUILTIN_PLUGINS
    for record in builtins.values():
        assert record["status"] == "ok", record["errors"]
        assert record["provides"]
    owners = {e["name"]: (e["plugin"], e["distribution"]) for e in catalog}
    assert owners["dcgan"] == ("dcgan", "ganzoo")
    assert owners["mlp"] == ("mlp", "ganzoo")
    assert owners["minimax"] == owners["non-saturating"] == ("losses", "ganzoo")


def test_duplicate_name_keeps_the_first_owner(catalog: list[dict]) -> None:
    (dcgan,) = [e for e in catalog if e["kind"] == "model" and e["name"] == "dcgan"]
    assert dcgan["description"] != "an impostor"
    (good,) = [e for e in catalog if e["name"] == "fake-good-model"]
    assert (good["plugin"], good["distribution"]) == (GOOD.entry_point, GOOD.distribution)


def test_good_plugin_is_loaded_and_listed(plugins: dict, catalog: list[dict]) -> None:
    record = record_of(plugins, GOOD)
    assert record["status"] == "ok"
    assert record["errors"] == []
    assert record["version"] == GOOD.version
    assert record["module"] == GOOD.module
    assert record["hooks"] == ["register_models"]
    assert record["provides"] == ["model:fake-good-model"]
    (entry,) = [e for e in catalog if e["name"] == "fake-good-model"]
    assert entry["kind"] == "model"
    assert entry["plugin"] == GOOD.entry_point
    assert entry["distribution"] == GOOD.distribution
    assert entry["version"] == GOOD.version
    assert entry["options"] == [{"name": "width", "type": "int", "default": 8, "minimum": 1}]


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_strict_mode_fails_with_one_line(tmp_path: Path, case: str) -> None:
    plugin, reasons = BROKEN[case].plugin, BROKEN[case].reasons
    site = install(tmp_path, GOOD, plugin)
    for command in ("plugins", "list"):
        result = ganzoo(site, command, "--json", **{STRICT_ENV: "1"})
        assert result.returncode == 1
        assert result.stdout == ""
        assert "Traceback" not in result.stderr
        lines = result.stderr.splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith(f"error: plugin {plugin.label} failed: ")
        for part in reasons:
            assert part in lines[0]


def test_strict_mode_passes_once_the_broken_plugin_is_disabled(tmp_path: Path) -> None:
    site = install(tmp_path, GOOD, IMPORT_ERROR)
    env = {STRICT_ENV: "1", DISABLE_ENV: IMPORT_ERROR.entry_point}
    records = {
        (r["distribution"], r["name"]): r for r in as_json(ganzoo(site, "plugins", "--json", **env))
    }
    assert record_of(records, IMPORT_ERROR)["status"] == "disabled"
    assert record_of(records, GOOD)["status"] == "ok"


@pytest.mark.parametrize("disable", [GOOD.entry_point, f" other , {GOOD.distribution} "])
def test_disabled_plugin_is_shown_and_gives_nothing(zoo: Path, disable: str) -> None:
    env = {DISABLE_ENV: disable}
    records = {
        (r["distribution"], r["name"]): r for r in as_json(ganzoo(zoo, "plugins", "--json", **env))
    }
    record = record_of(records, GOOD)
    assert record["status"] == "disabled"
    assert (record["errors"], record["hooks"], record["provides"]) == ([], [], [])
    catalog = as_json(ganzoo(zoo, "list", "--json", **env))
    assert not [e for e in catalog if e["distribution"] == GOOD.distribution]
