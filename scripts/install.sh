#!/usr/bin/env bash
# Install trustbench with the embedded model, offline judges, the HF backend and test tools into .venv.
# torch is pinned to the CPU build: an unpinned torch pulls a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e ".[local,hf,dev]"
echo "installed: $(.venv/bin/trustbench --help >/dev/null && echo trustbench OK)"
