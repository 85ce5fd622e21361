#!/usr/bin/env bash
# Set up everything in ./.venv, prove torch + torchvision work, then train DCGAN briefly on the
# embedded default dataset and print where the samples and checkpoint are.
#   bash scripts/setup.sh              # set up + quick training run
#   bash scripts/setup.sh --no-train   # set up only (the test script uses this)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# The pinned pair first, so nothing else can pull in a different torch.
.venv/bin/python -m pip install --quiet -r scripts/pins.txt
.venv/bin/python -m pip install --quiet -c scripts/pins.txt -e ".[test]"
.venv/bin/python scripts/check_torch.py

if [ "${1:-}" != "--no-train" ]; then
  # Batch 16 for 4800 steps sees the same 76,800 images as batch 64 for 1200, with four times
  # the updates: further along for half a minute more (docs/benchmarks.md, "Quick start").
  .venv/bin/ganzoo train dcgan --resolution 32 --steps 4800 --batch-size 16 -o width=32 \
    --out runs/quickstart-$(date +%Y%m%d-%H%M%S)
fi
