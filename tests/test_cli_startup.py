"""`ganzoo --help`, `ganzoo list` and `ganzoo plugins` never import torch."""

import json
import subprocess
import sys

import pytest

PROBE = """
import json, sys
from ganzoo.cli import main
try:
    main({args!r})
except SystemExit as exc:
    code = exc.code
heavy = sorted(m for m in ("torch", "torchvision", "numpy", "PIL") if m in sys.modules)
sys.stderr.write("MODULES " + json.dumps({{"code": code, "heavy": heavy}}) + "\\n")
"""


@pytest.mark.parametrize(
    "args", [["--help"], ["list"], ["list", "--json"], ["list", "--kind", "model"], ["plugins"]]
)
def test_light_commands_do_not_import_torch(args):
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=args)], capture_output=True, text=True
    )
    line = [x for x in proc.stderr.splitlines() if x.startswith("MODULES ")][-1]
    report = json.loads(line[len("MODULES ") :])
    assert report["code"] == 0, proc.stderr
    assert report["heavy"] == [], f"{args} imported {report['heavy']}"


def test_list_filters_and_json(run_cli):
    result = run_cli("list", "--json")
    entries = json.loads(result.out)
    names = {(e["kind"], e["name"]) for e in entries}
    assert {("model", "dcgan"), ("model", "mlp"), ("loss", "minimax")} <= names
    assert {("loss", "non-saturating"), ("dataset", "folder"), ("dataset", "shapes")} <= names
    assert {("dataset", "ring8"), ("dataset", "grid25")} <= names
    assert {("metric", "fid"), ("metric", "kid"), ("metric", "pr"), ("metric", "modes")} <= names
    dcgan = next(e for e in entries if e["name"] == "dcgan")
    assert dcgan["plugin"] == "dcgan" and dcgan["distribution"] == "ganzoo"
    assert dcgan["version"] and any(o["name"] == "width" for o in dcgan["options"])

    only_models = json.loads(run_cli("list", "--kind", "models", "--json").out)
    assert {e["kind"] for e in only_models} == {"model"}
    wildcard = json.loads(run_cli("list", "dc*", "--json").out)
    assert [(e["kind"], e["name"]) for e in wildcard] == [
        ("model", "dcgan"),
        ("preset", "dcgan-quickstart"),
        ("preset", "dcgan-small-data"),
    ]
    table = run_cli("list", "--kind", "loss")
    assert table.code == 0 and "minimax" in table.out and "dcgan" not in table.out


def test_plugins_lists_builtins(run_cli):
    records = {r["name"]: r for r in json.loads(run_cli("plugins", "--json").out)}
    for name in ("mlp", "dcgan", "losses", "datasets", "metrics"):
        assert records[name]["status"] == "ok"
        assert records[name]["distribution"] == "ganzoo"
    assert records["dcgan"]["hooks"] == ["register_models", "register_presets"]
    assert "model:dcgan" in records["dcgan"]["provides"]
    assert "preset:dcgan-small-data" in records["dcgan"]["provides"]
