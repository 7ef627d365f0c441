"""Static pool parsing, pool choice, client-side balancing: pure functions, no network."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict

from kernelwright.core.discovery import (
    Backoff,
    DiscoverySettings,
    EndpointBalancer,
    KubernetesPoolDirectory,
    NoPoolForGpu,
    Pool,
    PoolConfigError,
    PoolRouter,
    StaticPoolDirectory,
    choose_pool,
    directory_from_settings,
    gpu_tokens,
    parse_static_pools,
    pools_from_pods,
)

# ---- static parsing ----------------------------------------------------------------------------


def test_parse_simple_form():
    pools = parse_static_pools("h100=127.0.0.1:50054, 127.0.0.1:50064 ; a100@NVIDIA-A100-SXM4-80GB=10.0.0.5:50054")
    assert pools == {
        "h100": Pool("h100", "", ("127.0.0.1:50054", "127.0.0.1:50064"), False, 2),
        "a100": Pool("a100", "NVIDIA-A100-SXM4-80GB", ("10.0.0.5:50054",), False, 1),
    }


def test_parse_newlines_ipv6_hostnames_and_shared_suffix():
    pools = parse_static_pools("t4@Tesla-T4-SHARED=[::1]:50054\nlocal=localhost:7000,gpu-0.evaluators.svc:50054\n")
    assert pools["t4"].shared and pools["t4"].endpoints == ("[::1]:50054",)
    assert pools["local"].endpoints == ("gpu-0.evaluators.svc:50054", "localhost:7000")
    assert parse_static_pools("") == {} and parse_static_pools("  ") == {}


def test_parse_json_forms():
    pools = parse_static_pools('{"h100": ["127.0.0.1:50054"], '
                               '"t4": {"endpoints": ["127.0.0.1:50055"], "gpu_product": "Tesla T4"}, '
                               '"x": {"endpoints": "127.0.0.1:1,127.0.0.1:2", "shared": true}}')
    assert pools["h100"].endpoints == ("127.0.0.1:50054",)
    assert pools["t4"].gpu_product == "Tesla T4" and not pools["t4"].shared
    assert pools["x"].shared and len(pools["x"].endpoints) == 2


@pytest.mark.parametrize("text, message", [
    ("h100", "expected name=host:port"),
    ("h100=", "has no endpoints"),
    ("=127.0.0.1:1", "pool name ''"),
    ("h 100=127.0.0.1:1", "pool name 'h 100'"),
    ("h100=127.0.0.1", "not host:port"),
    ("h100=127.0.0.1:0", "port must be 1-65535"),
    ("h100=127.0.0.1:99999", "port must be 1-65535"),
    ("h100=127.0.0.1:http", "port must be 1-65535"),
    ("h100=::1:50054", "IPv6 goes in brackets"),
    ("h100=127.0.0.1:1,127.0.0.1:1", "listed twice"),
    ("h100=127.0.0.1:1;h100=127.0.0.1:2", "defined twice"),
    ("{not json", "JSON is invalid"),
    ('["127.0.0.1:1"]', "expected name=host:port"),
    ('{"h100": 5}', "expected a list of endpoints or an object"),
    ('{"h100": {"endpoints": [], "gpu": "x"}}', "unknown keys"),
    ('{"h100": {"endpoints": [5]}}', "is not a string"),
])
def test_parse_errors_are_clear(text, message):
    with pytest.raises(PoolConfigError, match=message):
        parse_static_pools(text)


class TranslatorLikeSettings(DiscoverySettings):
    model_config = SettingsConfigDict(env_prefix="KW_TESTSVC_", extra="ignore")


def test_settings_read_pools_from_env(monkeypatch):
    monkeypatch.setenv("KW_TESTSVC_EVALUATOR_POOLS", "h100=127.0.0.1:50054;a100=127.0.0.1:50064")
    s = TranslatorLikeSettings()
    assert set(s.evaluator_pools) == {"h100", "a100"}
    monkeypatch.setenv("KW_TESTSVC_EVALUATOR_POOLS", '{"h100": ["127.0.0.1:50054"]}')
    assert TranslatorLikeSettings().evaluator_pools["h100"].endpoints == ("127.0.0.1:50054",)
    monkeypatch.setenv("KW_TESTSVC_EVALUATOR_POOLS", "h100=127.0.0.1")
    with pytest.raises(ValidationError, match="evaluator_pools"):
        TranslatorLikeSettings()


def test_directory_from_settings(monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KW_TESTSVC_EVALUATOR_POOLS", "h100=127.0.0.1:50054")
    d = directory_from_settings(TranslatorLikeSettings())
    assert isinstance(d, StaticPoolDirectory) and set(d.pools()) == {"h100"}
    monkeypatch.delenv("KW_TESTSVC_EVALUATOR_POOLS")
    assert isinstance(directory_from_settings(TranslatorLikeSettings()), StaticPoolDirectory)   # local, none
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KW_TESTSVC_EVALUATOR_NAMESPACE", "kw")
    monkeypatch.setenv("KW_TESTSVC_EVALUATOR_SELECTOR", "app.kubernetes.io/instance=prod")
    d = directory_from_settings(TranslatorLikeSettings())   # constructed only: nothing is contacted
    assert isinstance(d, KubernetesPoolDirectory) and d.namespace == "kw"
    assert d.label_selector.endswith(",app.kubernetes.io/instance=prod")


async def test_static_directory_protocol():
    d = StaticPoolDirectory("h100=127.0.0.1:50054")
    await d.start()
    assert d.changed.is_set()
    assert (await d.wait_for(lambda p: "h100" in p, 0.1))["h100"].endpoints == ("127.0.0.1:50054",)
    with pytest.raises(TimeoutError, match="h100"):
        await d.wait_for(lambda p: "a100" in p, 0.01)
    await d.stop()


# ---- pods -> pools ---------------------------------------------------------------------------


def _pod(name, pool, product="NVIDIA-H100-80GB-HBM3", ip="127.0.1.1", ready=True, phase="Running", port=50054):
    return {"metadata": {"name": name, "uid": name, "labels": {
                "kernelwright.dev/evaluator-pool": pool, "kernelwright.dev/gpu-product": product}},
            "spec": {"containers": [{"name": "c", "ports": [{"name": "grpc", "containerPort": port}]}]},
            "status": {"phase": phase, "podIP": ip, "conditions": [{"type": "Ready", "status": str(ready)}]}}


def test_pools_from_pods_readiness_rules():
    pods = [_pod("a", "h100", ip="127.0.1.1"), _pod("b", "h100", ip="127.0.1.2", ready=False),
            _pod("c", "h100", ip="127.0.1.3", phase="Pending"), _pod("d", "h100", ip="", ready=True),
            _pod("e", "h100", ip="fd00::5", port=7000)]
    pool = pools_from_pods(pods)["h100"]
    assert pool.endpoints == ("127.0.1.1:50054", "[fd00::5]:7000") and pool.pods == 5 and not pool.shared


def test_pools_from_pods_shared_by_suffix_or_label():
    by_suffix = _pod("a", "t4", product="Tesla-T4-SHARED")
    by_label = _pod("b", "h100")
    by_label["metadata"]["labels"]["kernelwright.dev/shared-gpu"] = "true"
    pools = pools_from_pods([by_suffix, by_label])
    assert pools["t4"].shared and pools["h100"].shared


# ---- choose_pool -----------------------------------------------------------------------------

POOLS = {
    "h100": Pool("h100", "NVIDIA-H100-80GB-HBM3", ("127.0.0.1:1", "127.0.0.1:2"), False, 2),
    "a100": Pool("a100", "NVIDIA-A100-SXM4-80GB", ("127.0.0.1:3",), False, 1),
    "a100-40": Pool("a100-40", "NVIDIA-A100-SXM4-40GB", ("127.0.0.1:4",), False, 1),
    "t4": Pool("t4", "Tesla-T4-SHARED", ("127.0.0.1:5",), True, 1),
    "l4": Pool("l4", "NVIDIA-L4", (), False, 2),
}


def test_gpu_tokens_normalize_spellings():
    assert gpu_tokens("NVIDIA H100 80GB HBM3") == gpu_tokens("NVIDIA-H100-80GB-HBM3") == ["h100", "80gb", "hbm3"]
    assert gpu_tokens("nvidia_h100-80gb_hbm3") == ["h100", "80gb", "hbm3"]
    assert gpu_tokens("Tesla-T4-SHARED") == ["t4"]


@pytest.mark.parametrize("requested, expected", [
    ("h100", "h100"), ("H100", "h100"),
    ("NVIDIA H100 80GB HBM3", "h100"), ("NVIDIA-H100-80GB-HBM3", "h100"), ("h100 80gb", "h100"),
    ("a100", "a100"),                      # pool name beats product words (a100-40 also has A100)
    ("A100-SXM4-40GB", "a100-40"), ("NVIDIA A100-SXM4-40GB", "a100-40"), ("40gb", "a100-40"),
    ("a100-40", "a100-40"),
])
def test_choose_pool_matches(requested, expected):
    assert choose_pool(POOLS, requested).name == expected


def test_choose_pool_prefers_more_endpoints_among_equal_matches():
    pools = {"x": Pool("x", "NVIDIA-A100-SXM4-80GB", ("127.0.0.1:1",)),
             "y": Pool("y", "NVIDIA-A100-PCIE-80GB", ("127.0.0.1:2", "127.0.0.1:3"))}
    assert choose_pool(pools, "a100").name == "y"


def test_empty_request_any_non_shared_pool_with_endpoints():
    assert choose_pool(POOLS, None).name == "h100"     # most endpoints
    assert choose_pool(POOLS, "").name == "h100"
    only_shared = {"t4": POOLS["t4"], "l4": POOLS["l4"]}
    with pytest.raises(NoPoolForGpu, match="any GPU") as e:
        choose_pool(only_shared, None)
    assert "l4 has no ready endpoints" in str(e.value) and "t4 is shared" in str(e.value)
    assert choose_pool(only_shared, None, allow_shared=True).name == "t4"


def test_shared_pool_refused_for_timing_unless_asked():
    with pytest.raises(NoPoolForGpu, match=r"t4 is shared .*allow_shared=True") as e:
        choose_pool(POOLS, "t4")
    assert e.value.requested == "t4" and "h100" in e.value.available
    assert choose_pool(POOLS, "Tesla T4", allow_shared=True).name == "t4"


def test_shared_match_falls_through_to_a_dedicated_pool():
    pools = {"h100": Pool("h100", "NVIDIA-H100-80GB-HBM3-SHARED", ("127.0.0.1:1",), True),
             "h100-dedicated": Pool("h100-dedicated", "NVIDIA-H100-80GB-HBM3", ("127.0.0.1:2",))}
    assert choose_pool(pools, "h100").name == "h100-dedicated"


def test_no_pool_error_names_what_exists():
    with pytest.raises(NoPoolForGpu) as e:
        choose_pool(POOLS, "B200")
    msg = str(e.value)
    assert "GPU 'B200'" in msg
    for name in POOLS:
        assert name in msg
    assert "NVIDIA-H100-80GB-HBM3, 2/2 ready" in msg
    with pytest.raises(NoPoolForGpu, match="l4 has no ready endpoints"):
        choose_pool(POOLS, "L4")
    with pytest.raises(NoPoolForGpu, match="pools: none"):
        choose_pool({}, "h100")


def test_token_match_is_whole_words():
    with pytest.raises(NoPoolForGpu):
        choose_pool({"a1000": Pool("a1000", "NVIDIA-RTX-A1000", ("127.0.0.1:1",))}, "a100")


# ---- balancer ----------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_round_robin():
    b = EndpointBalancer(["e1", "e2", "e3"])
    assert [b.next() for _ in range(7)] == ["e1", "e2", "e3", "e1", "e2", "e3", "e1"]


def test_failed_endpoint_skipped_for_cooldown():
    clock = Clock()
    b = EndpointBalancer(["e1", "e2", "e3"], cooldown_s=30, clock=clock)
    b.mark_failed("e2")
    assert [b.next() for _ in range(4)] == ["e1", "e3", "e1", "e3"]
    assert b.healthy() == ["e1", "e3"]
    clock.t += 29.9
    assert "e2" not in [b.next() for _ in range(4)]
    clock.t += 0.2
    assert "e2" in [b.next() for _ in range(3)]
    b.mark_failed("e1")
    b.mark_ok("e1")
    assert b.healthy() == ["e1", "e2", "e3"]


def test_all_cooling_down_returns_the_one_back_first():
    clock = Clock()
    b = EndpointBalancer(["e1", "e2"], cooldown_s=10, clock=clock)
    b.mark_failed("e2")
    clock.t += 1
    b.mark_failed("e1")
    assert b.next() == "e2" and b.healthy() == []


def test_update_keeps_health_and_position():
    clock = Clock()
    b = EndpointBalancer(["e1", "e2", "e3"], cooldown_s=10, clock=clock)
    assert b.next() == "e1"
    b.mark_failed("e3")
    b.update(["e2", "e3", "e4"])           # e1 gone, e4 new
    assert [b.next() for _ in range(3)] == ["e2", "e4", "e2"]
    b.update([])
    with pytest.raises(LookupError):
        b.next()
    b.mark_failed("unknown")               # ignored


def test_router_picks_pool_and_balances():
    clock = Clock()
    router = PoolRouter(StaticPoolDirectory(POOLS), cooldown_s=5, clock=clock)
    picks = [router.pick("h100") for _ in range(3)]
    assert [ep for _, ep in picks] == ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:1"]
    router.report("h100", "127.0.0.1:2", ok=False)
    assert {router.pick("h100")[1] for _ in range(3)} == {"127.0.0.1:1"}
    clock.t += 6
    assert {router.pick("h100")[1] for _ in range(3)} == {"127.0.0.1:1", "127.0.0.1:2"}
    with pytest.raises(NoPoolForGpu):
        router.pick("t4")


def test_backoff_grows_caps_and_resets():
    import random

    b = Backoff(0.5, 4.0, rng=random.Random(1))
    delays = [b.next() for _ in range(6)]
    assert all(0.25 <= d <= 0.5 for d in delays[:1]) and all(2.0 <= d <= 4.0 for d in delays[3:])
    b.reset()
    assert b.next() <= 0.5
