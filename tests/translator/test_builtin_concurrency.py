"""The built-in proposer is called from several threads at once (the evolver's runs and the translator
each use ``asyncio.to_thread``). Tracing (torch.fx / make_fx, the forward-constant patch) uses
process-wide state, so concurrent calls must give exactly what one call alone gives.

On the H100 (session 4) four concurrent runs produced candidates traced at the wrong batch size (their
outputs kept batch B at batch B+1) and "CURRENT_PATCHER is None" trace failures.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from kernelwright.common.v1 import kernel_pb2
from kernelwright.translator.builtin import BuiltinProposer
from kernelwright.translator.builtin import proposer as proposer_mod
from kernelwright.translator.proposers import ProposalRequest
from tests.translator.builtin_synthetic import task

TASKS = {
    "groupnorm_gelu": task(
        "return F.group_norm(F.gelu(x), 2)",
        inputs="torch.randn(8, 4, 6, 5)"),
    "min_const_softmax": task(
        "x = torch.min(x, torch.tensor(0.25, device=x.device))\nreturn torch.softmax(x * 2.0, dim=1)",
        inputs="torch.randn(8, 6, 5)"),
    "linear_bn": task(
        "return self.bn(self.fc(x))",
        inputs="torch.randn(8, 12)",
        init="        self.fc = nn.Linear(12, 10)\n        self.bn = nn.BatchNorm1d(10)"),
}


def _ids(src: str) -> tuple[list[str], list[str]]:
    res = BuiltinProposer().propose_sync(ProposalRequest(task_name="t", task_source=src, functional_source="",
                                                         format=kernel_pb2.CANDIDATE_FORMAT_FAST))
    return [c.cuda_source for c in res.candidates], list(res.problems)


def test_concurrent_proposals_equal_serial_ones(monkeypatch):
    # No analysis cache here: every call must trace, concurrently, to test the tracing itself.
    monkeypatch.setattr(proposer_mod, "_ANALYSIS_CACHE_SIZE", 0)
    monkeypatch.setattr(proposer_mod, "_analysis_cache", type(proposer_mod._analysis_cache)())
    expected = {name: _ids(src) for name, src in TASKS.items()}
    for name, (sources, problems) in expected.items():
        assert sources and not problems, f"{name}: serial proposal failed: {problems}"
    got: list[tuple[str, tuple[list[str], list[str]]]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(12)

    def worker(name: str) -> None:
        try:
            barrier.wait()
            got.append((name, _ids(TASKS[name])))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(name,)) for name in list(TASKS) * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not errors, errors
    assert len(got) == 12
    for name, result in got:
        assert result == expected[name], f"{name}: a concurrent proposal differs from the serial one"


def test_a_source_is_traced_once_and_its_proposals_are_unchanged(monkeypatch):
    traced: list[str] = []
    real = proposer_mod.analyze_program

    def counting(src: str):
        traced.append(src)
        return real(src)

    monkeypatch.setattr(proposer_mod, "analyze_program", counting)
    monkeypatch.setattr(proposer_mod, "_analysis_cache", type(proposer_mod._analysis_cache)())
    monkeypatch.setattr(proposer_mod, "_ANALYSIS_CACHE_SIZE", 1)
    a, b = TASKS["groupnorm_gelu"], TASKS["linear_bn"]
    first = _ids(a)
    assert first[0] and _ids(a) == first and traced == [a]  # the second call used the cached analysis
    _ids(b)
    assert traced == [a, b]
    assert _ids(a) == first and traced == [a, b, a]  # size 1: b evicted a, so a was traced again
