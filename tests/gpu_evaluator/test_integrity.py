"""The worker's integrity snapshot: honest evaluator activity must not trip it, tampering must."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip()


def test_first_torch_compile_does_not_look_like_tampering():
    # A fresh process, as a worker is: dynamo is imported lazily by the first torch.compile and
    # rebinds torch.manual_seed. That made every honest candidate after the first fail (H100 run,
    # 2026-11-25) until the baseline was taken after those imports.
    out = _run("""
        import torch
        from kernelwright.gpu_evaluator.worker import _integrity_snapshot, integrity_baseline
        baseline = integrity_baseline()
        fn = torch.compile(lambda x: x * 2)
        torch.manual_seed(0)
        print(_integrity_snapshot() == baseline)
    """)
    assert out == "True"


def test_patched_synchronize_is_detected():
    out = _run("""
        import torch
        from kernelwright.gpu_evaluator.worker import _integrity_snapshot, integrity_baseline
        baseline = integrity_baseline()
        torch.cuda.synchronize = lambda *a, **k: None
        print(_integrity_snapshot() == baseline)
    """)
    assert out == "False"


def test_switching_tf32_back_on_is_detected():
    out = _run("""
        import torch
        from kernelwright.gpu_evaluator.worker import _integrity_snapshot, integrity_baseline
        torch.backends.cudnn.allow_tf32 = False
        baseline = integrity_baseline()
        torch.backends.cudnn.allow_tf32 = True
        print(_integrity_snapshot() == baseline)
    """)
    assert out == "False"
