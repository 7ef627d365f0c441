"""Result records for the bench tests: short constructors so each case reads as its numbers."""

from kernelwright.bench.results import ERROR, FAILED, SUCCEEDED, TaskResult


def ok(name: str, level: int, eager: float, compile_: float, ours_ms: float = 1.0) -> TaskResult:
    """A correct task with the given speedups vs eager and vs torch.compile."""
    return TaskResult(task=name, level=level, correct=True, outcome=SUCCEEDED, ours_ms=ours_ms,
                      eager_ms=eager * ours_ms, compile_ms=compile_ * ours_ms, speedup_eager=eager,
                      speedup_compile=compile_, gpu="NVIDIA H100 80GB HBM3", date="2026-11-26T10:00:00+00:00",
                      candidate_id=f"c-{name}", proposer="builtin", cuda_source="__global__ void k(){}")


def failed(name: str, level: int, reason: str = "no verified candidate") -> TaskResult:
    return TaskResult(task=name, level=level, correct=False, outcome=FAILED, reason=reason)


def error(name: str, level: int) -> TaskResult:
    return TaskResult(task=name, level=level, outcome=ERROR, reason="UNAVAILABLE: evolver down")
