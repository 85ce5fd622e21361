#!/usr/bin/env bash
# Set up everything in ./.venv, prove torch + torchvision work, then train pix2pix briefly on the
# embedded sketch -> painting pairs and print where the samples and checkpoint are.
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
  # pix2pix on its embedded edges2shapes pairs takes its preset, pix2pix-quickstart: 64 px,
  # batch 16, 1500 steps of fast Adam, about two minutes on two cores; unconditional DCGAN
  # shows only blobs after that long (docs/benchmarks.md, "Quick start").
  .venv/bin/ganzoo train pix2pix --out runs/quickstart-$(date +%Y%m%d-%H%M%S)
fi
