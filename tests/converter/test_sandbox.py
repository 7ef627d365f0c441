"""The generic sandbox runner (kernelwright.core.sandbox)."""

from __future__ import annotations

import pytest

from kernelwright.core.sandbox import SandboxLimits, SandboxStatus, run_in_sandbox

pytestmark = pytest.mark.slow  # each call spawns a fresh interpreter


def test_returns_value():
    res = run_in_sandbox("operator:add", 2, 3, limits=SandboxLimits(timeout_s=60))
    assert res.status == SandboxStatus.OK and res.value == 5


def test_exception_is_structured():
    res = run_in_sandbox("math:sqrt", -1, limits=SandboxLimits(timeout_s=60))
    assert res.status == SandboxStatus.ERROR
    assert res.error_type == "ValueError" and "math domain error" in res.message


def test_timeout_kills_child():
    res = run_in_sandbox("time:sleep", 60, limits=SandboxLimits(timeout_s=2))
    assert res.status == SandboxStatus.TIMEOUT and res.duration_s < 30


def test_memory_limit():
    res = run_in_sandbox("builtins:bytearray", 8 * 2**30, limits=SandboxLimits(timeout_s=60, memory_limit_bytes=2**30))
    assert res.status == SandboxStatus.MEMORY_LIMIT


def test_forbidden_write_outside_scratch(tmp_path):
    flags = 0o101  # O_WRONLY | O_CREAT
    res = run_in_sandbox("os:open", str(tmp_path / "x.txt"), flags, limits=SandboxLimits(timeout_s=60))
    assert res.status == SandboxStatus.FORBIDDEN
    assert "outside the scratch directory" in res.message


def test_forbidden_subprocess():
    res = run_in_sandbox("subprocess:run", ["true"], limits=SandboxLimits(timeout_s=60))
    assert res.status == SandboxStatus.FORBIDDEN
    assert "not allowed" in res.message
