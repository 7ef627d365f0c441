from kernelwright.common.v1 import task_pb2 as _task_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConversionOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONVERSION_OUTCOME_UNSPECIFIED: _ClassVar[ConversionOutcome]
    CONVERSION_OUTCOME_VALIDATED: _ClassVar[ConversionOutcome]
    CONVERSION_OUTCOME_NOT_VALIDATED: _ClassVar[ConversionOutcome]
    CONVERSION_OUTCOME_MISMATCH: _ClassVar[ConversionOutcome]
    CONVERSION_OUTCOME_TASK_ERROR: _ClassVar[ConversionOutcome]
    CONVERSION_OUTCOME_UNSUPPORTED: _ClassVar[ConversionOutcome]
    CONVERSION_OUTCOME_TIMED_OUT: _ClassVar[ConversionOutcome]
    CONVERSION_OUTCOME_MEMORY_LIMIT: _ClassVar[ConversionOutcome]
    CONVERSION_OUTCOME_FORBIDDEN: _ClassVar[ConversionOutcome]
CONVERSION_OUTCOME_UNSPECIFIED: ConversionOutcome
CONVERSION_OUTCOME_VALIDATED: ConversionOutcome
CONVERSION_OUTCOME_NOT_VALIDATED: ConversionOutcome
CONVERSION_OUTCOME_MISMATCH: ConversionOutcome
CONVERSION_OUTCOME_TASK_ERROR: ConversionOutcome
CONVERSION_OUTCOME_UNSUPPORTED: ConversionOutcome
CONVERSION_OUTCOME_TIMED_OUT: ConversionOutcome
CONVERSION_OUTCOME_MEMORY_LIMIT: ConversionOutcome
CONVERSION_OUTCOME_FORBIDDEN: ConversionOutcome

class ValidationOptions(_message.Message):
    __slots__ = ("trials", "timeout_s", "device", "skip", "base_seed")
    TRIALS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_S_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    SKIP_FIELD_NUMBER: _ClassVar[int]
    BASE_SEED_FIELD_NUMBER: _ClassVar[int]
    trials: int
    timeout_s: float
    device: str
    skip: bool
    base_seed: int
    def __init__(self, trials: _Optional[int] = ..., timeout_s: _Optional[float] = ..., device: _Optional[str] = ..., skip: _Optional[bool] = ..., base_seed: _Optional[int] = ...) -> None: ...

class ConvertRequest(_message.Message):
    __slots__ = ("task", "validation")
    TASK_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_FIELD_NUMBER: _ClassVar[int]
    task: _task_pb2.Task
    validation: ValidationOptions
    def __init__(self, task: _Optional[_Union[_task_pb2.Task, _Mapping]] = ..., validation: _Optional[_Union[ValidationOptions, _Mapping]] = ...) -> None: ...

class ValidationCheck(_message.Message):
    __slots__ = ("trial", "seed", "distribution", "passed", "max_abs_error", "max_rel_error", "message")
    TRIAL_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    DISTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    PASSED_FIELD_NUMBER: _ClassVar[int]
    MAX_ABS_ERROR_FIELD_NUMBER: _ClassVar[int]
    MAX_REL_ERROR_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    trial: int
    seed: int
    distribution: str
    passed: bool
    max_abs_error: float
    max_rel_error: float
    message: str
    def __init__(self, trial: _Optional[int] = ..., seed: _Optional[int] = ..., distribution: _Optional[str] = ..., passed: _Optional[bool] = ..., max_abs_error: _Optional[float] = ..., max_rel_error: _Optional[float] = ..., message: _Optional[str] = ...) -> None: ...

class ConversionVerdict(_message.Message):
    __slots__ = ("outcome", "message", "checks", "max_abs_error", "max_rel_error", "atol", "rtol", "not_validated_reason", "device", "duration_s")
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    MAX_ABS_ERROR_FIELD_NUMBER: _ClassVar[int]
    MAX_REL_ERROR_FIELD_NUMBER: _ClassVar[int]
    ATOL_FIELD_NUMBER: _ClassVar[int]
    RTOL_FIELD_NUMBER: _ClassVar[int]
    NOT_VALIDATED_REASON_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    DURATION_S_FIELD_NUMBER: _ClassVar[int]
    outcome: ConversionOutcome
    message: str
    checks: _containers.RepeatedCompositeFieldContainer[ValidationCheck]
    max_abs_error: float
    max_rel_error: float
    atol: float
    rtol: float
    not_validated_reason: str
    device: str
    duration_s: float
    def __init__(self, outcome: _Optional[_Union[ConversionOutcome, str]] = ..., message: _Optional[str] = ..., checks: _Optional[_Iterable[_Union[ValidationCheck, _Mapping]]] = ..., max_abs_error: _Optional[float] = ..., max_rel_error: _Optional[float] = ..., atol: _Optional[float] = ..., rtol: _Optional[float] = ..., not_validated_reason: _Optional[str] = ..., device: _Optional[str] = ..., duration_s: _Optional[float] = ...) -> None: ...

class ConvertResponse(_message.Message):
    __slots__ = ("verdict", "program")
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    PROGRAM_FIELD_NUMBER: _ClassVar[int]
    verdict: ConversionVerdict
    program: _task_pb2.FunctionalProgram
    def __init__(self, verdict: _Optional[_Union[ConversionVerdict, _Mapping]] = ..., program: _Optional[_Union[_task_pb2.FunctionalProgram, _Mapping]] = ...) -> None: ...
