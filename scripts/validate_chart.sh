#!/usr/bin/env bash
# Validate helm/kernelwright offline: for every values combination in helm/kernelwright/ci/,
# `helm lint --strict` + `helm template` piped through `kubernetes-validate --strict` against the
# oldest supported (Chart.yaml kubeVersion) and a current Kubernetes schema; then every file in
# tests/helm/bad-values/ must be refused with the message its first line names ("# expect: ...").
#
# Needs .tools/bin/helm (scripts/install_helm.sh) and kubernetes-validate on PATH
# (pip install kubernetes-validate==1.37.0). CRD kinds (ServiceMonitor) have no core schema: the
# validator's "Couldn't find schema" warning is accepted for them only, any other is an error.
set -euo pipefail
cd "$(dirname "$0")/.."

HELM="${HELM:-.tools/bin/helm}"
KV="${KUBERNETES_VALIDATE:-kubernetes-validate}"
K8S_VERSIONS=(${KW_K8S_VERSIONS:-1.27.0 1.33.0})
CHART=helm/kernelwright
CRD_KINDS='ServiceMonitor'

[[ -x "$HELM" ]] || { echo "no helm at $HELM: run scripts/install_helm.sh" >&2; exit 2; }
command -v "$KV" >/dev/null || { echo "no $KV: pip install kubernetes-validate" >&2; exit 2; }

kv_args=(--strict --quiet)
for v in "${K8S_VERSIONS[@]}"; do kv_args+=(-k "$v"); done

fail=0
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT

for values in "$CHART"/ci/*.yaml; do
    name="$(basename "$values" .yaml)"
    echo "== $name"
    "$HELM" lint --strict --quiet "$CHART" -f "$values" >"$tmp/lint" 2>&1 \
        || { cat "$tmp/lint"; echo "FAIL lint $name"; fail=1; continue; }
    "$HELM" template kw "$CHART" --namespace kernelwright -f "$values" >"$tmp/$name.yaml" 2>"$tmp/err" \
        || { cat "$tmp/err"; echo "FAIL template $name"; fail=1; continue; }
    rc=0; "$KV" "${kv_args[@]}" "$tmp/$name.yaml" >"$tmp/kv" 2>&1 || rc=$?
    unexpected="$(grep -v -E "Couldn't find schema for kind (${CRD_KINDS}) " "$tmp/kv" || true)"
    if [[ $rc -ne 0 || -n "$unexpected" ]]; then
        echo "$unexpected"; echo "FAIL kubernetes-validate $name"; fail=1; continue
    fi
    skipped="$(grep -c "Couldn't find schema" "$tmp/kv" || true)"
    kinds="$(grep -c '^kind:' "$tmp/$name.yaml")"
    echo "ok: lint, template, $kinds objects valid for Kubernetes ${K8S_VERSIONS[*]}${skipped:+ }$([[ $skipped -gt 0 ]] && echo "(CRD kinds not schema-checked: $CRD_KINDS)")"
done

for values in tests/helm/bad-values/*.yaml; do
    name="$(basename "$values" .yaml)"
    expect="$(sed -n '1s/^# expect: //p' "$values")"
    if "$HELM" template kw "$CHART" -f "$values" >/dev/null 2>"$tmp/err"; then
        echo "FAIL bad-values/$name rendered, but should have been refused"; fail=1
    elif ! grep -qF -- "$expect" "$tmp/err"; then
        cat "$tmp/err"; echo "FAIL bad-values/$name refused without \"$expect\""; fail=1
    else
        echo "ok: bad-values/$name refused ($expect)"
    fi
done

exit $fail
