"""The same assertions for the Anthropic and the OpenAI-compatible proposer, against the fake server
through the real SDKs."""

from __future__ import annotations

import time

import pytest

from kernelwright.translator.proposers import (ProposerConfigError, ProposerSettings, ProposerUnavailable,
                                               make_proposer)

from . import fake_llm_server as fk
from .helpers import (BAD_PLAN_ANSWER, CUDA, FAST, GOOD_FAST_ANSWER, GOOD_KB_ANSWER, KB, MODEL_NEW, NO_CODE_ANSWER,
                      NO_MODELNEW_ANSWER, PLAN, request)

pytestmark = pytest.mark.integration

BACKENDS = ["anthropic", "openai"]
TINY = dict(backoff_initial_s=0.01, backoff_max_s=0.05, request_timeout_s=5.0, max_retries=3)


def settings_for(backend: str, server: fk.FakeLLMServer, **kw) -> ProposerSettings:
    if backend == "anthropic":
        base = dict(anthropic_api_key="test-key", anthropic_base_url=server.anthropic_base_url,
                    anthropic_model="claude-sonnet-4-6")
    else:
        base = dict(openai_api_key="test-key", openai_base_url=server.openai_base_url, openai_model="local-coder")
    return ProposerSettings(**{**base, **TINY, **kw})


@pytest.fixture(params=BACKENDS)
def backend(request, monkeypatch):
    for var in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_BASE_URL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    return request.param


def _endpoint_path(backend: str) -> str:
    return "/v1/messages" if backend == "anthropic" else "/v1/chat/completions"


async def test_good_answer_kernelbench(backend, fake_llm):
    fake_llm.set_script(fk.text(GOOD_KB_ANSWER))
    p = make_proposer(backend, settings_for(backend, fake_llm))
    r = await p.propose(request(KB))
    assert len(r.candidates) == 1, r.problems
    c = r.candidates[0]
    assert c.format == KB and "class ModelNew" in c.kernelbench_source
    assert c.proposer == p.name and c.proposer.startswith(backend + ":") and c.id
    assert r.raw_text == GOOD_KB_ANSWER
    (req,) = fake_llm.requests
    assert req.path == _endpoint_path(backend)
    assert req.body["model"] == p.model
    assert req.headers.get("x-api-key", req.headers.get("authorization", "")).endswith("test-key")


async def test_good_answer_fast_with_plan(backend, fake_llm):
    fake_llm.set_script(fk.text(GOOD_FAST_ANSWER))
    p = make_proposer(backend, settings_for(backend, fake_llm))
    r = await p.propose(request(FAST))
    assert r.problems == [] or all("price" in x for x in r.problems)
    (c,) = r.candidates
    assert c.format == FAST and c.plan.steps[0].launch.kernel == "relu_kernel"


@pytest.mark.parametrize("answer, problem", [
    (NO_CODE_ANSWER, "no code block"),
    (NO_MODELNEW_ANSWER, "ModelNew"),
])
async def test_malformed_kernelbench_gives_problems(backend, fake_llm, answer, problem):
    fake_llm.set_script(fk.text(answer))
    r = await make_proposer(backend, settings_for(backend, fake_llm)).propose(request(KB))
    assert r.candidates == [] and any(problem in x for x in r.problems)
    assert r.raw_text == answer


async def test_invalid_plan_json_gives_problem(backend, fake_llm):
    fake_llm.set_script(fk.text(BAD_PLAN_ANSWER))
    r = await make_proposer(backend, settings_for(backend, fake_llm)).propose(request(FAST))
    assert r.candidates == [] and any(x.startswith("plan JSON invalid") for x in r.problems)


@pytest.mark.parametrize("first", [fk.status(529), fk.status(500), fk.status(429, retry_after=0.2)])
async def test_transient_errors_then_ok(backend, fake_llm, first):
    fake_llm.set_script(first, first, fk.text(GOOD_KB_ANSWER))
    p = make_proposer(backend, settings_for(backend, fake_llm))
    t0 = time.monotonic()
    r = await p.propose(request(KB))
    elapsed = time.monotonic() - t0
    assert len(r.candidates) == 1
    assert len(fake_llm.requests) == 3 and p.retries == 2
    if first.get("retry_after"):
        assert elapsed >= 0.4  # retry-after honoured over the tiny backoff, twice
    assert r.usage.calls == 1


async def test_always_overloaded_is_unavailable(backend, fake_llm):
    fake_llm.set_script(fk.status(529))
    p = make_proposer(backend, settings_for(backend, fake_llm, max_retries=2))
    with pytest.raises(ProposerUnavailable) as ei:
        await p.propose(request(KB))
    assert f"127.0.0.1:{fake_llm.port}" in str(ei.value) and backend in str(ei.value)
    assert "529" in str(ei.value) and ei.value.attempts == 3
    assert len(fake_llm.requests) == 3


async def test_non_retryable_error_fails_at_once(backend, fake_llm):
    fake_llm.set_script(fk.status(401, message="bad key"))
    p = make_proposer(backend, settings_for(backend, fake_llm))
    with pytest.raises(ProposerUnavailable, match="401"):
        await p.propose(request(KB))
    assert len(fake_llm.requests) == 1


async def test_timeout_is_unavailable(backend, fake_llm):
    fake_llm.set_script(fk.hang(10))
    p = make_proposer(backend, settings_for(backend, fake_llm, request_timeout_s=0.3, max_retries=1))
    t0 = time.monotonic()
    with pytest.raises(ProposerUnavailable, match="timed out"):
        await p.propose(request(KB))
    assert time.monotonic() - t0 < 5
    assert len(fake_llm.requests) == 2


async def test_deadline_bounds_retries(backend, fake_llm):
    fake_llm.set_script(fk.status(429, retry_after=5))
    p = make_proposer(backend, settings_for(backend, fake_llm, deadline_s=1.0, max_retries=10))
    with pytest.raises(ProposerUnavailable, match="deadline"):
        await p.propose(request(KB))
    assert len(fake_llm.requests) == 1


def test_missing_key_names_the_setting(backend, monkeypatch, tmp_path):
    for var in ("KW_TRANSLATOR_ANTHROPIC_API_KEY", "KW_TRANSLATOR_OPENAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    s = ProposerSettings(openai_base_url="http://127.0.0.1:1/v1", openai_model="m")
    var = f"KW_TRANSLATOR_{backend.upper()}_API_KEY"
    with pytest.raises(ProposerConfigError) as ei:
        make_proposer(backend, s)
    assert var in str(ei.value) and var + "_FILE" in str(ei.value)
    # a mounted secret file works, and an env var works
    (tmp_path / "key").write_text("from-file\n")
    make_proposer(backend, s.model_copy(update={f"{backend}_api_key_file": tmp_path / "key"}))
    monkeypatch.setenv(var, "from-env")
    make_proposer(backend, ProposerSettings(openai_base_url="http://127.0.0.1:1/v1", openai_model="m"))


async def test_usage_and_cost(backend, fake_llm):
    fake_llm.set_script(fk.text(GOOD_KB_ANSWER, input_tokens=1_000_000, output_tokens=100_000,
                                cache_read=2_000_000, cache_write=400_000))
    p = make_proposer(backend, settings_for(backend, fake_llm))
    r = await p.propose(request(KB))
    u = r.usage
    assert (u.input_tokens, u.output_tokens, u.cache_read_tokens) == (1_000_000, 100_000, 2_000_000)
    if backend == "anthropic":
        assert u.cache_write_tokens == 400_000
        # claude-sonnet-4-6: 3 in, 15 out, 0.3 cache read, 3.75 cache write per MTok
        assert u.cost_usd == pytest.approx(3.0 + 1.5 + 0.6 + 1.5)
        assert u.priced and not any("price" in x for x in r.problems)
    else:
        assert u.cost_usd == 0 and not u.priced  # a local model: not in the table, flagged
        assert any("no price for model 'local-coder'" in x for x in r.problems)


async def test_n_candidates_sum_usage(backend, fake_llm):
    fake_llm.set_script(fk.text(GOOD_KB_ANSWER))
    r = await make_proposer(backend, settings_for(backend, fake_llm)).propose(request(KB, n=3))
    assert len(r.candidates) == 3 and r.usage.calls == 3 and len(fake_llm.requests) == 3
    assert r.usage.output_tokens == 3 * fk.DEFAULT_USAGE["output_tokens"]


async def test_prompt_content_sent(backend, fake_llm):
    fake_llm.set_script(fk.text(GOOD_KB_ANSWER))
    await make_proposer(backend, settings_for(backend, fake_llm)).propose(request(KB))
    body = fake_llm.requests[0].body
    if backend == "anthropic":
        system = body["system"]
        assert all(b["cache_control"] == {"type": "ephemeral"} for b in system)
        whole = "\n".join(b["text"] for b in system) + body["messages"][0]["content"]
        assert body["tools"][0]["name"] == "submit_candidate"
    else:
        whole = "\n".join(m["content"] for m in body["messages"])
    assert "class Model(nn.Module)" in whole and "stone_kernel" in whole and "ModelNew" in whole
    assert "1e-4" in whole and "NVIDIA H100" in whole


async def test_anthropic_tool_use_answer(fake_llm):
    fake_llm.set_script(fk.tool({"cuda_source": CUDA, "plan": PLAN}))
    r = await make_proposer("anthropic", settings_for("anthropic", fake_llm)).propose(request(FAST))
    (c,) = r.candidates
    assert c.format == FAST and c.plan.steps[0].launch.kernel == "relu_kernel"
    fake_llm.set_script(fk.tool({"kernelbench_source": MODEL_NEW}))
    r = await make_proposer("anthropic", settings_for("anthropic", fake_llm)).propose(request(KB))
    assert r.candidates[0].kernelbench_source == MODEL_NEW


def test_unknown_proposer_and_fallback(monkeypatch):
    from kernelwright.translator.proposers import ProposalResult, register_proposer
    from kernelwright.translator.proposers import registry

    monkeypatch.delenv("KW_TRANSLATOR_ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(ProposerConfigError, match="unknown proposer 'gpt9'"):
        make_proposer("gpt9", ProposerSettings())
    monkeypatch.setattr(registry, "_FACTORIES", dict(registry._FACTORIES))
    registry._FACTORIES.pop("builtin", None)
    with pytest.raises(ProposerConfigError, match="no 'builtin' proposer is registered"):
        make_proposer("anthropic", ProposerSettings(fallback_to_builtin=True))

    class Builtin:
        name = "builtin"

        async def propose(self, request):
            return ProposalResult()

    monkeypatch.setattr(registry, "_FACTORIES", dict(registry._FACTORIES))
    register_proposer("builtin", lambda s: Builtin())
    assert make_proposer("anthropic", ProposerSettings(fallback_to_builtin=True)).name == "builtin"
