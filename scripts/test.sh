#!/usr/bin/env bash
# Run the whole test suite (and the linter) from a fresh checkout: sets up .venv if needed,
# installs the example plugin package, then runs ruff and pytest. Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --no-train
.venv/bin/python -m pip install --quiet -c scripts/pins.txt ./examples/ganzoo-plugin-example
.venv/bin/ruff check .
.venv/bin/ruff format --check ganzoo tests benchmarks examples scripts
.venv/bin/python -m pytest -q "$@"
