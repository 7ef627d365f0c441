"""The Helm chart, rendered by real helm: pools, network policies, security, refused values.

Needs .tools/bin/helm (bash scripts/install_helm.sh); skipped without it.
"""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
HELM = ROOT / ".tools" / "bin" / "helm"
CHART = ROOT / "helm" / "kernelwright"
CI_VALUES = sorted((CHART / "ci").glob("*.yaml"))
BAD_VALUES = sorted((Path(__file__).parent / "bad-values").glob("*.yaml"))
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
POOL_LABEL = "kernelwright.dev/evaluator-pool"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not HELM.is_file(), reason="no .tools/bin/helm: run `bash scripts/install_helm.sh`"),
]


def helm_template(*values_files: Path, values: dict | None = None, tmp_path: Path | None = None,
                  check: bool = True) -> subprocess.CompletedProcess:
    args = [str(HELM), "template", "kw", str(CHART), "--namespace", "kw"]
    for f in values_files:
        args += ["-f", str(f)]
    if values is not None:
        assert tmp_path is not None
        extra = tmp_path / "extra-values.yaml"
        extra.write_text(yaml.safe_dump(values))
        args += ["-f", str(extra)]
    return subprocess.run(args, capture_output=True, text=True, check=check, timeout=60)


def render(*values_files: Path, **kw) -> list[dict]:
    return [d for d in yaml.safe_load_all(helm_template(*values_files, **kw).stdout) if d]


def of_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def pool_deployments(docs: list[dict]) -> dict[str, dict]:
    return {d["metadata"]["labels"][POOL_LABEL]: d for d in of_kind(docs, "Deployment")
            if d["metadata"]["labels"].get("app.kubernetes.io/component") == "gpu-evaluator"}


def ci_values(name: str) -> Path:
    return CHART / "ci" / f"{name}-values.yaml"


def env_of(deploy: dict, docs: list[dict]) -> dict[str, str]:
    """The container's environment: its ConfigMap (envFrom) plus plain env values."""
    c = deploy["spec"]["template"]["spec"]["containers"][0]
    env: dict[str, str] = {}
    cms = {d["metadata"]["name"]: d for d in of_kind(docs, "ConfigMap")}
    for src in c.get("envFrom", []):
        env.update(cms[src["configMapRef"]["name"]]["data"])
    for e in c.get("env", []):
        env[e["name"]] = e.get("value", "<from>")
    return env


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.stem)
def test_ci_values_render(values: Path) -> None:
    docs = render(values)
    assert of_kind(docs, "Deployment")
    # gRPC probes on every kernelwright container; a startup probe on every evaluator.
    for d in of_kind(docs, "Deployment"):
        c = d["spec"]["template"]["spec"]["containers"][0]
        assert "readinessProbe" in c and "livenessProbe" in c
        assert "checksum/config" in d["spec"]["template"]["metadata"]["annotations"]
        if d["metadata"]["labels"]["app.kubernetes.io/component"] == "gpu-evaluator":
            assert "startupProbe" in c


def test_three_pools() -> None:
    values = yaml.safe_load(ci_values("three-pools").read_text())
    docs = render(ci_values("three-pools"))
    pools = pool_deployments(docs)
    assert set(pools) == {p["name"] for p in values["evaluator"]["pools"]}
    services = {d["metadata"]["name"] for d in of_kind(docs, "Service")}
    for p in values["evaluator"]["pools"]:
        d = pools[p["name"]]
        spec = d["spec"]["template"]["spec"]
        c = spec["containers"][0]
        product = p["nodeSelector"]["nvidia.com/gpu.product"]
        assert c["resources"]["limits"]["nvidia.com/gpu"] == p["gpusPerPod"]
        for k, v in p["nodeSelector"].items():
            assert spec["nodeSelector"][k] == v
        assert spec["tolerations"] == p.get("tolerations", [GPU_TOLERATION])
        assert GPU_TOLERATION in spec["tolerations"]
        for labels in (d["metadata"]["labels"], d["spec"]["template"]["metadata"]["labels"]):
            assert labels[POOL_LABEL] == p["name"]
            assert labels["kernelwright.dev/gpu-product"] == product
            assert (labels.get("kernelwright.dev/shared-gpu") == "true") == bool(p.get("allowSharedGpu"))
        assert d["spec"]["selector"]["matchLabels"][POOL_LABEL] == p["name"]
        assert c["image"] == "ghcr.io/kernelwright/kernelwright:0.1.0-cuda"
        assert d["spec"]["replicas"] == p.get("replicaCount", 1)
        assert spec.get("runtimeClassName") == p.get("runtimeClassName")
        env = env_of(d, docs)
        assert env["KW_GPU_EVALUATOR_POOL"] == p["name"]
        assert env["KW_GPU_EVALUATOR_GPU_PRODUCT"] == product
        assert f"kw-kernelwright-gpu-evaluator-{p['name']}" in services
    # pool overrides and merges
    assert pools["a100"]["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] == "64Gi"
    assert env_of(pools["a100"], docs)["KW_GPU_EVALUATOR_LAUNCHER"] == "pycuda"
    assert env_of(pools["a100"], docs)["KW_GPU_EVALUATOR_TIMING_TRIALS"] == "200"
    assert env_of(pools["h200"], docs)["KW_GPU_EVALUATOR_ARCH"] == "sm_90a"


def test_adding_a_pool_adds_a_deployment(tmp_path: Path) -> None:
    base = yaml.safe_load(ci_values("one-pool").read_text())
    before = render(ci_values("one-pool"))
    more = copy.deepcopy(base["evaluator"])
    more["pools"].append({"name": "l40s", "gpusPerPod": 1,
                          "nodeSelector": {"nvidia.com/gpu.product": "NVIDIA-L40S"}})
    after = render(ci_values("one-pool"), values={"evaluator": more}, tmp_path=tmp_path)
    assert len(of_kind(after, "Deployment")) == len(of_kind(before, "Deployment")) + 1
    assert len(of_kind(after, "Service")) == len(of_kind(before, "Service")) + 1
    assert set(pool_deployments(after)) == set(pool_deployments(before)) | {"l40s"}
    # translator/evolver learn the new pool (static discovery) and roll (config checksum changes)
    tr = next(d for d in of_kind(after, "Deployment") if d["metadata"]["name"] == "kw-kernelwright-translator")
    assert "l40s@NVIDIA-L40S=kw-kernelwright-gpu-evaluator-l40s.kw.svc:50054" in \
        env_of(tr, after)["KW_TRANSLATOR_EVALUATOR_POOLS"]


@pytest.mark.parametrize("values", ["default", "three-pools", "servicemonitor"])
def test_evaluator_network_policy(values: str) -> None:
    docs = render(ci_values(values))
    nps = {d["metadata"]["name"]: d["spec"] for d in of_kind(docs, "NetworkPolicy")}
    deny = nps["kw-kernelwright-default-deny"]
    assert set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert not deny.get("ingress") and not deny.get("egress")
    ev = nps["kw-kernelwright-gpu-evaluator"]
    assert ev["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "gpu-evaluator"
    assert set(ev["policyTypes"]) == {"Ingress", "Egress"}
    assert not ev.get("egress"), "evaluator pools must have no egress at all"
    grpc_rules = [r for r in ev["ingress"] if {"protocol": "TCP", "port": 50054} in r["ports"]]
    assert len(grpc_rules) == 1
    callers = {p["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for p in grpc_rules[0]["from"]}
    assert callers == {"translator", "evolver"}
    for r in ev["ingress"]:   # any other rule (metrics scraping) reaches only the metrics port
        if r is not grpc_rules[0]:
            assert r["ports"] == [{"protocol": "TCP", "port": 9090}]
    # only translator/evolver get egress on 443 beyond the cluster
    for name, spec in nps.items():
        internet = [r for r in spec.get("egress", []) if any("ipBlock" in t for t in r.get("to", []))]
        if internet:
            assert name.endswith(("-translator", "-evolver")), name


def test_security_context_everywhere() -> None:
    for values in CI_VALUES:
        docs = render(values)
        for d in of_kind(docs, "Deployment") + of_kind(docs, "StatefulSet"):
            spec = d["spec"]["template"]["spec"]
            where = f"{values.stem}: {d['kind']}/{d['metadata']['name']}"
            assert spec["securityContext"]["runAsNonRoot"] is True, where
            assert spec["securityContext"]["runAsUser"] == 10001, where
            assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
            assert spec["enableServiceLinks"] is False, where
            mounts_by_path = {}
            for c in spec["containers"] + spec.get("initContainers", []):
                sc = c["securityContext"]
                assert sc["runAsNonRoot"] is True and sc["runAsUser"] != 0, where
                assert sc["readOnlyRootFilesystem"] is True, where
                assert sc["allowPrivilegeEscalation"] is False, where
                assert sc["capabilities"]["drop"] == ["ALL"], where
                assert not sc["capabilities"].get("add"), where
                mounts_by_path.update({m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])})
            assert "/tmp" in mounts_by_path, where
            if d["kind"] == "Deployment":
                env = env_of(d, docs)
                assert mounts_by_path.get(env["HOME"]) == "cache", where
                if "KW_GPU_EVALUATOR_CACHE_DIR" in env:
                    assert env["KW_GPU_EVALUATOR_CACHE_DIR"].startswith(env["HOME"] + "/"), where


def test_llm_keys_only_in_translator_and_evolver() -> None:
    docs = render(ci_values("one-pool"))
    for d in of_kind(docs, "Deployment"):
        component = d["metadata"]["labels"]["app.kubernetes.io/component"]
        names = {e["name"] for e in d["spec"]["template"]["spec"]["containers"][0].get("env", [])}
        keyed = any(n.endswith(("_ANTHROPIC_API_KEY", "_OPENAI_API_KEY")) for n in names)
        assert keyed == (component in {"translator", "evolver"}), component
    assert any(s["metadata"]["name"] == "kw-kernelwright-llm" for s in of_kind(docs, "Secret"))


def test_qdrant_modes() -> None:
    inside = render(ci_values("default"))
    (sts,) = of_kind(inside, "StatefulSet")
    assert sts["spec"]["template"]["spec"]["containers"][0]["image"].startswith("qdrant/qdrant:v")
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"]
    archive = next(d for d in of_kind(inside, "Deployment") if d["metadata"]["name"].endswith("-archive"))
    assert env_of(archive, inside)["KW_ARCHIVE_URL"] == "http://kw-kernelwright-qdrant.kw.svc:6333"
    outside = render(ci_values("external-qdrant"))
    assert not of_kind(outside, "StatefulSet")
    archive = next(d for d in of_kind(outside, "Deployment") if d["metadata"]["name"].endswith("-archive"))
    env = env_of(archive, outside)
    assert env["KW_ARCHIVE_URL"] == "https://qdrant.example.com:6333"
    assert env["KW_ARCHIVE_API_KEY"] == "<from>"


def test_tls_mounts_and_env() -> None:
    docs = render(ci_values("tls"))
    for d in of_kind(docs, "Deployment"):
        spec = d["spec"]["template"]["spec"]
        c = spec["containers"][0]
        assert {"name": "tls", "mountPath": "/etc/kernelwright/tls", "readOnly": True} in c["volumeMounts"]
        assert any(v.get("secret", {}).get("secretName") == "kernelwright-mesh-tls" for v in spec["volumes"])
        prefix = "KW_" + c["name"].upper().replace("-", "_") + "_"
        env = env_of(d, docs)
        assert env[prefix + "TLS_CERT"] == "/etc/kernelwright/tls/tls.crt"
        assert env[prefix + "TLS_KEY"] == "/etc/kernelwright/tls/tls.key"
        assert env["KW_CLIENT_TLS_CA"] == "/etc/kernelwright/tls/ca.crt"
        assert "tcpSocket" in c["readinessProbe"]   # gRPC probes cannot speak TLS


def test_service_monitor() -> None:
    (sm,) = of_kind(render(ci_values("servicemonitor")), "ServiceMonitor")
    assert sm["apiVersion"] == "monitoring.coreos.com/v1"
    assert sm["spec"]["endpoints"][0]["port"] == "metrics"
    assert sm["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert not of_kind(render(ci_values("default")), "ServiceMonitor")


@pytest.mark.parametrize("values", BAD_VALUES, ids=lambda p: p.stem)
def test_bad_values_are_refused(values: Path) -> None:
    first = values.read_text().splitlines()[0]
    assert first.startswith("# expect: ")
    expect = first.removeprefix("# expect: ")
    result = helm_template(values, check=False)
    assert result.returncode != 0, f"{values.name} rendered but should be refused"
    assert expect in result.stderr, result.stderr
