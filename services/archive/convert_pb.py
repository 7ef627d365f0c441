"""ArchiveEntry (domain dataclass) <-> archive.v1.ArchiveEntry (wire)."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from kernelwright.archive.entry import ArchiveEntry
from kernelwright.archive.v1 import archive_pb2
from kernelwright.common.v1 import hardware_pb2, kernel_pb2, task_pb2

_FORMAT_TO_PB = {
    "kernelbench": kernel_pb2.CANDIDATE_FORMAT_KERNELBENCH,
    "fast": kernel_pb2.CANDIDATE_FORMAT_FAST,
    "": kernel_pb2.CANDIDATE_FORMAT_UNSPECIFIED,
}
_FORMAT_FROM_PB = {v: k for k, v in _FORMAT_TO_PB.items()}


def to_pb(e: ArchiveEntry) -> archive_pb2.ArchiveEntry:
    created = Timestamp()
    created.FromNanoseconds(int(e.created_at * 1e9))
    return archive_pb2.ArchiveEntry(
        id=e.id, task_name=e.task_name, op_signature=e.op_signature,
        level=e.level or 0, task_id=e.task_id or 0, ops=e.ops,
        inputs=[task_pb2.TensorSpec(shape=s, dtype=d)
                for s, d in zip(e.input_shapes, e.input_dtypes + [""] * len(e.input_shapes))],
        module_source=e.module_source, functional_source=e.functional_source, cuda_source=e.cuda_source,
        format=_FORMAT_TO_PB.get(e.format, kernel_pb2.CANDIDATE_FORMAT_UNSPECIFIED),
        kernel_name=e.kernel_name, correct=e.correct, verified=e.verified,
        max_abs_error=e.max_abs_error, max_rel_error=e.max_rel_error, error=e.error,
        runtime_ms=e.runtime_ms, eager_ms=e.eager_ms, compile_ms=e.compile_ms,
        speedup_eager=e.speedup_eager, speedup_compile=e.speedup_compile,
        hardware=hardware_pb2.Hardware(gpu_name=e.hardware), parent_ids=e.parent_ids,
        created_at=created, ncu_profile=e.ncu_profile, torch_profile=e.torch_profile,
        clang_tidy=e.clang_tidy, code_hash=e.code_hash, provenance=e.source,
    )


def from_pb(p: archive_pb2.ArchiveEntry) -> ArchiveEntry:
    return ArchiveEntry(
        id=p.id, task_name=p.task_name, op_signature=p.op_signature,
        level=p.level or None, task_id=p.task_id or None, ops=list(p.ops),
        input_shapes=[list(t.shape) for t in p.inputs], input_dtypes=[t.dtype for t in p.inputs],
        module_source=p.module_source, functional_source=p.functional_source, cuda_source=p.cuda_source,
        format=_FORMAT_FROM_PB.get(p.format, ""), kernel_name=p.kernel_name,
        correct=p.correct, verified=p.verified, max_abs_error=p.max_abs_error,
        max_rel_error=p.max_rel_error, error=p.error, runtime_ms=p.runtime_ms, eager_ms=p.eager_ms,
        compile_ms=p.compile_ms, speedup_eager=p.speedup_eager, speedup_compile=p.speedup_compile,
        hardware=p.hardware.gpu_name, parent_ids=list(p.parent_ids),
        created_at=p.created_at.ToNanoseconds() / 1e9 if p.HasField("created_at") else 0.0,
        ncu_profile=p.ncu_profile, torch_profile=p.torch_profile, clang_tidy=p.clang_tidy,
        code_hash=p.code_hash, source=p.provenance or "kernelwright",
    )
