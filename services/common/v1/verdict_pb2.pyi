from kernelwright.common.v1 import hardware_pb2 as _hardware_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VerdictOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VERDICT_OUTCOME_UNSPECIFIED: _ClassVar[VerdictOutcome]
    VERDICT_OUTCOME_ACCEPTED: _ClassVar[VerdictOutcome]
    VERDICT_OUTCOME_REJECTED_STATIC: _ClassVar[VerdictOutcome]
    VERDICT_OUTCOME_COMPILE_ERROR: _ClassVar[VerdictOutcome]
    VERDICT_OUTCOME_WRONG_ANSWER: _ClassVar[VerdictOutcome]
    VERDICT_OUTCOME_RUNTIME_ERROR: _ClassVar[VerdictOutcome]
    VERDICT_OUTCOME_TIMED_OUT: _ClassVar[VerdictOutcome]
    VERDICT_OUTCOME_OUT_OF_MEMORY: _ClassVar[VerdictOutcome]
    VERDICT_OUTCOME_CRASHED: _ClassVar[VerdictOutcome]
    VERDICT_OUTCOME_NO_KERNEL_LAUNCHED: _ClassVar[VerdictOutcome]
    VERDICT_OUTCOME_SUSPICIOUS: _ClassVar[VerdictOutcome]
    VERDICT_OUTCOME_INPUTS_MODIFIED: _ClassVar[VerdictOutcome]
    VERDICT_OUTCOME_VERIFIED_UNTIMED: _ClassVar[VerdictOutcome]
    VERDICT_OUTCOME_FOREIGN_COMPUTE: _ClassVar[VerdictOutcome]

class SuspicionFlag(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SUSPICION_FLAG_UNSPECIFIED: _ClassVar[SuspicionFlag]
    SUSPICION_FLAG_BEATS_ROOFLINE: _ClassVar[SuspicionFlag]
    SUSPICION_FLAG_TEN_X_COMPILE: _ClassVar[SuspicionFlag]
    SUSPICION_FLAG_DEGENERATE_TASK: _ClassVar[SuspicionFlag]
    SUSPICION_FLAG_REVERIFY_FAILED: _ClassVar[SuspicionFlag]
    SUSPICION_FLAG_ILL_CONDITIONED: _ClassVar[SuspicionFlag]
VERDICT_OUTCOME_UNSPECIFIED: VerdictOutcome
VERDICT_OUTCOME_ACCEPTED: VerdictOutcome
VERDICT_OUTCOME_REJECTED_STATIC: VerdictOutcome
VERDICT_OUTCOME_COMPILE_ERROR: VerdictOutcome
VERDICT_OUTCOME_WRONG_ANSWER: VerdictOutcome
VERDICT_OUTCOME_RUNTIME_ERROR: VerdictOutcome
VERDICT_OUTCOME_TIMED_OUT: VerdictOutcome
VERDICT_OUTCOME_OUT_OF_MEMORY: VerdictOutcome
VERDICT_OUTCOME_CRASHED: VerdictOutcome
VERDICT_OUTCOME_NO_KERNEL_LAUNCHED: VerdictOutcome
VERDICT_OUTCOME_SUSPICIOUS: VerdictOutcome
VERDICT_OUTCOME_INPUTS_MODIFIED: VerdictOutcome
VERDICT_OUTCOME_VERIFIED_UNTIMED: VerdictOutcome
VERDICT_OUTCOME_FOREIGN_COMPUTE: VerdictOutcome
SUSPICION_FLAG_UNSPECIFIED: SuspicionFlag
SUSPICION_FLAG_BEATS_ROOFLINE: SuspicionFlag
SUSPICION_FLAG_TEN_X_COMPILE: SuspicionFlag
SUSPICION_FLAG_DEGENERATE_TASK: SuspicionFlag
SUSPICION_FLAG_REVERIFY_FAILED: SuspicionFlag
SUSPICION_FLAG_ILL_CONDITIONED: SuspicionFlag

class CheckResult(_message.Message):
    __slots__ = ("name", "passed", "message", "seed", "distribution", "max_abs_error", "max_rel_error")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PASSED_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    DISTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    MAX_ABS_ERROR_FIELD_NUMBER: _ClassVar[int]
    MAX_REL_ERROR_FIELD_NUMBER: _ClassVar[int]
    name: str
    passed: bool
    message: str
    seed: int
    distribution: str
    max_abs_error: float
    max_rel_error: float
    def __init__(self, name: _Optional[str] = ..., passed: _Optional[bool] = ..., message: _Optional[str] = ..., seed: _Optional[int] = ..., distribution: _Optional[str] = ..., max_abs_error: _Optional[float] = ..., max_rel_error: _Optional[float] = ...) -> None: ...

class Mismatch(_message.Message):
    __slots__ = ("output", "index", "expected", "actual", "mismatched", "numel")
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    ACTUAL_FIELD_NUMBER: _ClassVar[int]
    MISMATCHED_FIELD_NUMBER: _ClassVar[int]
    NUMEL_FIELD_NUMBER: _ClassVar[int]
    output: int
    index: _containers.RepeatedScalarFieldContainer[int]
    expected: float
    actual: float
    mismatched: int
    numel: int
    def __init__(self, output: _Optional[int] = ..., index: _Optional[_Iterable[int]] = ..., expected: _Optional[float] = ..., actual: _Optional[float] = ..., mismatched: _Optional[int] = ..., numel: _Optional[int] = ...) -> None: ...

class TimingStats(_message.Message):
    __slots__ = ("median_ms", "iqr_ms", "min_ms", "mean_ms", "trials")
    MEDIAN_MS_FIELD_NUMBER: _ClassVar[int]
    IQR_MS_FIELD_NUMBER: _ClassVar[int]
    MIN_MS_FIELD_NUMBER: _ClassVar[int]
    MEAN_MS_FIELD_NUMBER: _ClassVar[int]
    TRIALS_FIELD_NUMBER: _ClassVar[int]
    median_ms: float
    iqr_ms: float
    min_ms: float
    mean_ms: float
    trials: int
    def __init__(self, median_ms: _Optional[float] = ..., iqr_ms: _Optional[float] = ..., min_ms: _Optional[float] = ..., mean_ms: _Optional[float] = ..., trials: _Optional[int] = ...) -> None: ...

class Timings(_message.Message):
    __slots__ = ("candidate", "eager", "compiled", "speedup_vs_eager", "speedup_vs_compile", "roofline_bound_ms")
    CANDIDATE_FIELD_NUMBER: _ClassVar[int]
    EAGER_FIELD_NUMBER: _ClassVar[int]
    COMPILED_FIELD_NUMBER: _ClassVar[int]
    SPEEDUP_VS_EAGER_FIELD_NUMBER: _ClassVar[int]
    SPEEDUP_VS_COMPILE_FIELD_NUMBER: _ClassVar[int]
    ROOFLINE_BOUND_MS_FIELD_NUMBER: _ClassVar[int]
    candidate: TimingStats
    eager: TimingStats
    compiled: TimingStats
    speedup_vs_eager: float
    speedup_vs_compile: float
    roofline_bound_ms: float
    def __init__(self, candidate: _Optional[_Union[TimingStats, _Mapping]] = ..., eager: _Optional[_Union[TimingStats, _Mapping]] = ..., compiled: _Optional[_Union[TimingStats, _Mapping]] = ..., speedup_vs_eager: _Optional[float] = ..., speedup_vs_compile: _Optional[float] = ..., roofline_bound_ms: _Optional[float] = ...) -> None: ...

class ResourceUsage(_message.Message):
    __slots__ = ("kernel", "registers_per_thread", "static_shared_bytes", "spill_bytes", "local_bytes")
    KERNEL_FIELD_NUMBER: _ClassVar[int]
    REGISTERS_PER_THREAD_FIELD_NUMBER: _ClassVar[int]
    STATIC_SHARED_BYTES_FIELD_NUMBER: _ClassVar[int]
    SPILL_BYTES_FIELD_NUMBER: _ClassVar[int]
    LOCAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    kernel: str
    registers_per_thread: int
    static_shared_bytes: int
    spill_bytes: int
    local_bytes: int
    def __init__(self, kernel: _Optional[str] = ..., registers_per_thread: _Optional[int] = ..., static_shared_bytes: _Optional[int] = ..., spill_bytes: _Optional[int] = ..., local_bytes: _Optional[int] = ...) -> None: ...

class KernelProfile(_message.Message):
    __slots__ = ("kernel", "duration_us", "dram_throughput_pct", "sm_throughput_pct", "achieved_occupancy_pct")
    KERNEL_FIELD_NUMBER: _ClassVar[int]
    DURATION_US_FIELD_NUMBER: _ClassVar[int]
    DRAM_THROUGHPUT_PCT_FIELD_NUMBER: _ClassVar[int]
    SM_THROUGHPUT_PCT_FIELD_NUMBER: _ClassVar[int]
    ACHIEVED_OCCUPANCY_PCT_FIELD_NUMBER: _ClassVar[int]
    kernel: str
    duration_us: float
    dram_throughput_pct: float
    sm_throughput_pct: float
    achieved_occupancy_pct: float
    def __init__(self, kernel: _Optional[str] = ..., duration_us: _Optional[float] = ..., dram_throughput_pct: _Optional[float] = ..., sm_throughput_pct: _Optional[float] = ..., achieved_occupancy_pct: _Optional[float] = ...) -> None: ...

class ProfileSummary(_message.Message):
    __slots__ = ("tool", "kernels", "text")
    TOOL_FIELD_NUMBER: _ClassVar[int]
    KERNELS_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    tool: str
    kernels: _containers.RepeatedCompositeFieldContainer[KernelProfile]
    text: str
    def __init__(self, tool: _Optional[str] = ..., kernels: _Optional[_Iterable[_Union[KernelProfile, _Mapping]]] = ..., text: _Optional[str] = ...) -> None: ...

class Verdict(_message.Message):
    __slots__ = ("candidate_id", "outcome", "message", "compiled", "correct", "checks", "max_abs_error", "max_rel_error", "atol", "rtol", "worst_mismatch", "log", "timings", "suspicion", "resources", "profile", "hardware", "launched_kernels", "phase_seconds", "cached")
    class PhaseSecondsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    COMPILED_FIELD_NUMBER: _ClassVar[int]
    CORRECT_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    MAX_ABS_ERROR_FIELD_NUMBER: _ClassVar[int]
    MAX_REL_ERROR_FIELD_NUMBER: _ClassVar[int]
    ATOL_FIELD_NUMBER: _ClassVar[int]
    RTOL_FIELD_NUMBER: _ClassVar[int]
    WORST_MISMATCH_FIELD_NUMBER: _ClassVar[int]
    LOG_FIELD_NUMBER: _ClassVar[int]
    TIMINGS_FIELD_NUMBER: _ClassVar[int]
    SUSPICION_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    HARDWARE_FIELD_NUMBER: _ClassVar[int]
    LAUNCHED_KERNELS_FIELD_NUMBER: _ClassVar[int]
    PHASE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    CACHED_FIELD_NUMBER: _ClassVar[int]
    candidate_id: str
    outcome: VerdictOutcome
    message: str
    compiled: bool
    correct: bool
    checks: _containers.RepeatedCompositeFieldContainer[CheckResult]
    max_abs_error: float
    max_rel_error: float
    atol: float
    rtol: float
    worst_mismatch: Mismatch
    log: str
    timings: Timings
    suspicion: _containers.RepeatedScalarFieldContainer[SuspicionFlag]
    resources: _containers.RepeatedCompositeFieldContainer[ResourceUsage]
    profile: ProfileSummary
    hardware: _hardware_pb2.Hardware
    launched_kernels: _containers.RepeatedScalarFieldContainer[str]
    phase_seconds: _containers.ScalarMap[str, float]
    cached: bool
    def __init__(self, candidate_id: _Optional[str] = ..., outcome: _Optional[_Union[VerdictOutcome, str]] = ..., message: _Optional[str] = ..., compiled: _Optional[bool] = ..., correct: _Optional[bool] = ..., checks: _Optional[_Iterable[_Union[CheckResult, _Mapping]]] = ..., max_abs_error: _Optional[float] = ..., max_rel_error: _Optional[float] = ..., atol: _Optional[float] = ..., rtol: _Optional[float] = ..., worst_mismatch: _Optional[_Union[Mismatch, _Mapping]] = ..., log: _Optional[str] = ..., timings: _Optional[_Union[Timings, _Mapping]] = ..., suspicion: _Optional[_Iterable[_Union[SuspicionFlag, str]]] = ..., resources: _Optional[_Iterable[_Union[ResourceUsage, _Mapping]]] = ..., profile: _Optional[_Union[ProfileSummary, _Mapping]] = ..., hardware: _Optional[_Union[_hardware_pb2.Hardware, _Mapping]] = ..., launched_kernels: _Optional[_Iterable[str]] = ..., phase_seconds: _Optional[_Mapping[str, float]] = ..., cached: _Optional[bool] = ...) -> None: ...
