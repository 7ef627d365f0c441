from kernelwright.common.v1 import task_pb2 as _task_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CandidateFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CANDIDATE_FORMAT_UNSPECIFIED: _ClassVar[CandidateFormat]
    CANDIDATE_FORMAT_KERNELBENCH: _ClassVar[CandidateFormat]
    CANDIDATE_FORMAT_FAST: _ClassVar[CandidateFormat]
CANDIDATE_FORMAT_UNSPECIFIED: CandidateFormat
CANDIDATE_FORMAT_KERNELBENCH: CandidateFormat
CANDIDATE_FORMAT_FAST: CandidateFormat

class ShapeExpr(_message.Message):
    __slots__ = ("expr",)
    EXPR_FIELD_NUMBER: _ClassVar[int]
    expr: str
    def __init__(self, expr: _Optional[str] = ...) -> None: ...

class Allocation(_message.Message):
    __slots__ = ("name", "shape", "dtype", "is_output")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    IS_OUTPUT_FIELD_NUMBER: _ClassVar[int]
    name: str
    shape: _containers.RepeatedCompositeFieldContainer[ShapeExpr]
    dtype: str
    is_output: bool
    def __init__(self, name: _Optional[str] = ..., shape: _Optional[_Iterable[_Union[ShapeExpr, _Mapping]]] = ..., dtype: _Optional[str] = ..., is_output: _Optional[bool] = ...) -> None: ...

class KernelLaunch(_message.Message):
    __slots__ = ("kernel", "grid", "block", "dynamic_shared_bytes", "args")
    KERNEL_FIELD_NUMBER: _ClassVar[int]
    GRID_FIELD_NUMBER: _ClassVar[int]
    BLOCK_FIELD_NUMBER: _ClassVar[int]
    DYNAMIC_SHARED_BYTES_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    kernel: str
    grid: _containers.RepeatedCompositeFieldContainer[ShapeExpr]
    block: _containers.RepeatedCompositeFieldContainer[ShapeExpr]
    dynamic_shared_bytes: int
    args: _containers.RepeatedCompositeFieldContainer[LaunchArg]
    def __init__(self, kernel: _Optional[str] = ..., grid: _Optional[_Iterable[_Union[ShapeExpr, _Mapping]]] = ..., block: _Optional[_Iterable[_Union[ShapeExpr, _Mapping]]] = ..., dynamic_shared_bytes: _Optional[int] = ..., args: _Optional[_Iterable[_Union[LaunchArg, _Mapping]]] = ...) -> None: ...

class LaunchArg(_message.Message):
    __slots__ = ("tensor", "int_expr", "float_value")
    TENSOR_FIELD_NUMBER: _ClassVar[int]
    INT_EXPR_FIELD_NUMBER: _ClassVar[int]
    FLOAT_VALUE_FIELD_NUMBER: _ClassVar[int]
    tensor: str
    int_expr: ShapeExpr
    float_value: float
    def __init__(self, tensor: _Optional[str] = ..., int_expr: _Optional[_Union[ShapeExpr, _Mapping]] = ..., float_value: _Optional[float] = ...) -> None: ...

class LibraryCall(_message.Message):
    __slots__ = ("op", "args", "out", "attributes")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    OP_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    OUT_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    op: str
    args: _containers.RepeatedCompositeFieldContainer[LaunchArg]
    out: str
    attributes: _containers.ScalarMap[str, str]
    def __init__(self, op: _Optional[str] = ..., args: _Optional[_Iterable[_Union[LaunchArg, _Mapping]]] = ..., out: _Optional[str] = ..., attributes: _Optional[_Mapping[str, str]] = ...) -> None: ...

class LaunchStep(_message.Message):
    __slots__ = ("launch", "library_call")
    LAUNCH_FIELD_NUMBER: _ClassVar[int]
    LIBRARY_CALL_FIELD_NUMBER: _ClassVar[int]
    launch: KernelLaunch
    library_call: LibraryCall
    def __init__(self, launch: _Optional[_Union[KernelLaunch, _Mapping]] = ..., library_call: _Optional[_Union[LibraryCall, _Mapping]] = ...) -> None: ...

class LaunchPlan(_message.Message):
    __slots__ = ("allocations", "steps")
    ALLOCATIONS_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    allocations: _containers.RepeatedCompositeFieldContainer[Allocation]
    steps: _containers.RepeatedCompositeFieldContainer[LaunchStep]
    def __init__(self, allocations: _Optional[_Iterable[_Union[Allocation, _Mapping]]] = ..., steps: _Optional[_Iterable[_Union[LaunchStep, _Mapping]]] = ...) -> None: ...

class KernelCandidate(_message.Message):
    __slots__ = ("id", "format", "kernelbench_source", "cuda_source", "plan", "schedule", "proposer", "parent_ids", "program")
    class ScheduleEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    KERNELBENCH_SOURCE_FIELD_NUMBER: _ClassVar[int]
    CUDA_SOURCE_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    PROPOSER_FIELD_NUMBER: _ClassVar[int]
    PARENT_IDS_FIELD_NUMBER: _ClassVar[int]
    PROGRAM_FIELD_NUMBER: _ClassVar[int]
    id: str
    format: CandidateFormat
    kernelbench_source: str
    cuda_source: str
    plan: LaunchPlan
    schedule: _containers.ScalarMap[str, int]
    proposer: str
    parent_ids: _containers.RepeatedScalarFieldContainer[str]
    program: _task_pb2.FunctionalProgram
    def __init__(self, id: _Optional[str] = ..., format: _Optional[_Union[CandidateFormat, str]] = ..., kernelbench_source: _Optional[str] = ..., cuda_source: _Optional[str] = ..., plan: _Optional[_Union[LaunchPlan, _Mapping]] = ..., schedule: _Optional[_Mapping[str, int]] = ..., proposer: _Optional[str] = ..., parent_ids: _Optional[_Iterable[str]] = ..., program: _Optional[_Union[_task_pb2.FunctionalProgram, _Mapping]] = ...) -> None: ...
