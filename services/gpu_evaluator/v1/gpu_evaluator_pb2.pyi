from kernelwright.common.v1 import hardware_pb2 as _hardware_pb2
from kernelwright.common.v1 import kernel_pb2 as _kernel_pb2
from kernelwright.common.v1 import task_pb2 as _task_pb2
from kernelwright.common.v1 import verdict_pb2 as _verdict_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EvaluateOptions(_message.Message):
    __slots__ = ("correctness_trials", "timing_trials", "verify_only", "profile", "skip_compile_baseline", "timeout_s", "skip_baselines", "measurement")
    CORRECTNESS_TRIALS_FIELD_NUMBER: _ClassVar[int]
    TIMING_TRIALS_FIELD_NUMBER: _ClassVar[int]
    VERIFY_ONLY_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    SKIP_COMPILE_BASELINE_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_S_FIELD_NUMBER: _ClassVar[int]
    SKIP_BASELINES_FIELD_NUMBER: _ClassVar[int]
    MEASUREMENT_FIELD_NUMBER: _ClassVar[int]
    correctness_trials: int
    timing_trials: int
    verify_only: bool
    profile: bool
    skip_compile_baseline: bool
    timeout_s: float
    skip_baselines: bool
    measurement: int
    def __init__(self, correctness_trials: _Optional[int] = ..., timing_trials: _Optional[int] = ..., verify_only: _Optional[bool] = ..., profile: _Optional[bool] = ..., skip_compile_baseline: _Optional[bool] = ..., timeout_s: _Optional[float] = ..., skip_baselines: _Optional[bool] = ..., measurement: _Optional[int] = ...) -> None: ...

class EvaluateRequest(_message.Message):
    __slots__ = ("task", "candidate", "options")
    TASK_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    task: _task_pb2.Task
    candidate: _kernel_pb2.KernelCandidate
    options: EvaluateOptions
    def __init__(self, task: _Optional[_Union[_task_pb2.Task, _Mapping]] = ..., candidate: _Optional[_Union[_kernel_pb2.KernelCandidate, _Mapping]] = ..., options: _Optional[_Union[EvaluateOptions, _Mapping]] = ...) -> None: ...

class EvaluateResponse(_message.Message):
    __slots__ = ("verdict",)
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    verdict: _verdict_pb2.Verdict
    def __init__(self, verdict: _Optional[_Union[_verdict_pb2.Verdict, _Mapping]] = ...) -> None: ...

class CheckRequest(_message.Message):
    __slots__ = ("task", "candidate")
    TASK_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_FIELD_NUMBER: _ClassVar[int]
    task: _task_pb2.Task
    candidate: _kernel_pb2.KernelCandidate
    def __init__(self, task: _Optional[_Union[_task_pb2.Task, _Mapping]] = ..., candidate: _Optional[_Union[_kernel_pb2.KernelCandidate, _Mapping]] = ...) -> None: ...

class CheckResponse(_message.Message):
    __slots__ = ("verdict",)
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    verdict: _verdict_pb2.Verdict
    def __init__(self, verdict: _Optional[_Union[_verdict_pb2.Verdict, _Mapping]] = ...) -> None: ...

class GetCapabilitiesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GpuWorker(_message.Message):
    __slots__ = ("index", "hardware", "state", "evaluated")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    HARDWARE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    EVALUATED_FIELD_NUMBER: _ClassVar[int]
    index: int
    hardware: _hardware_pb2.Hardware
    state: str
    evaluated: int
    def __init__(self, index: _Optional[int] = ..., hardware: _Optional[_Union[_hardware_pb2.Hardware, _Mapping]] = ..., state: _Optional[str] = ..., evaluated: _Optional[int] = ...) -> None: ...

class GetCapabilitiesResponse(_message.Message):
    __slots__ = ("pool", "workers", "cpu_only", "queue_capacity", "queue_depth", "formats")
    POOL_FIELD_NUMBER: _ClassVar[int]
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    CPU_ONLY_FIELD_NUMBER: _ClassVar[int]
    QUEUE_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    QUEUE_DEPTH_FIELD_NUMBER: _ClassVar[int]
    FORMATS_FIELD_NUMBER: _ClassVar[int]
    pool: str
    workers: _containers.RepeatedCompositeFieldContainer[GpuWorker]
    cpu_only: bool
    queue_capacity: int
    queue_depth: int
    formats: _containers.RepeatedScalarFieldContainer[_kernel_pb2.CandidateFormat]
    def __init__(self, pool: _Optional[str] = ..., workers: _Optional[_Iterable[_Union[GpuWorker, _Mapping]]] = ..., cpu_only: _Optional[bool] = ..., queue_capacity: _Optional[int] = ..., queue_depth: _Optional[int] = ..., formats: _Optional[_Iterable[_Union[_kernel_pb2.CandidateFormat, str]]] = ...) -> None: ...
