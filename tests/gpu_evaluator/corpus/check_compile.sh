#!/usr/bin/env bash
# Compile-check the gpu-evaluator corpora (no GPU needed).
#   tests/gpu_evaluator/corpus/check_compile.sh                 # corpus + adversarial, everything
#   tests/gpu_evaluator/corpus/check_compile.sh --skip-kernelbench   # fast format only (seconds)
#   tests/gpu_evaluator/corpus/check_compile.sh path/to/file.cu path/to/kernelbench.py
# Each KernelBench source compiles against the torch headers (~1 min each; -j parallel).
# Env: PYTHON (default: repo .venv/bin/python or python3), NVCC, KW_ARCH (default sm_90), KW_NVRTC_LIB.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
py="${PYTHON:-}"
if [[ -z "$py" ]]; then
  if [[ -x "$repo/.venv/bin/python" ]]; then py="$repo/.venv/bin/python"; else py=python3; fi
fi
exec "$py" "$here/compile_check.py" "$@"
