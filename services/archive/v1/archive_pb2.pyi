import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from kernelwright.common.v1 import hardware_pb2 as _hardware_pb2
from kernelwright.common.v1 import kernel_pb2 as _kernel_pb2
from kernelwright.common.v1 import task_pb2 as _task_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ArchiveEntry(_message.Message):
    __slots__ = ("id", "task_name", "op_signature", "level", "task_id", "ops", "inputs", "module_source", "functional_source", "cuda_source", "format", "kernel_name", "correct", "verified", "max_abs_error", "max_rel_error", "error", "runtime_ms", "eager_ms", "compile_ms", "speedup_eager", "speedup_compile", "hardware", "parent_ids", "created_at", "ncu_profile", "torch_profile", "clang_tidy", "code_hash", "provenance")
    ID_FIELD_NUMBER: _ClassVar[int]
    TASK_NAME_FIELD_NUMBER: _ClassVar[int]
    OP_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    OPS_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    MODULE_SOURCE_FIELD_NUMBER: _ClassVar[int]
    FUNCTIONAL_SOURCE_FIELD_NUMBER: _ClassVar[int]
    CUDA_SOURCE_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    KERNEL_NAME_FIELD_NUMBER: _ClassVar[int]
    CORRECT_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_FIELD_NUMBER: _ClassVar[int]
    MAX_ABS_ERROR_FIELD_NUMBER: _ClassVar[int]
    MAX_REL_ERROR_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_MS_FIELD_NUMBER: _ClassVar[int]
    EAGER_MS_FIELD_NUMBER: _ClassVar[int]
    COMPILE_MS_FIELD_NUMBER: _ClassVar[int]
    SPEEDUP_EAGER_FIELD_NUMBER: _ClassVar[int]
    SPEEDUP_COMPILE_FIELD_NUMBER: _ClassVar[int]
    HARDWARE_FIELD_NUMBER: _ClassVar[int]
    PARENT_IDS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    NCU_PROFILE_FIELD_NUMBER: _ClassVar[int]
    TORCH_PROFILE_FIELD_NUMBER: _ClassVar[int]
    CLANG_TIDY_FIELD_NUMBER: _ClassVar[int]
    CODE_HASH_FIELD_NUMBER: _ClassVar[int]
    PROVENANCE_FIELD_NUMBER: _ClassVar[int]
    id: str
    task_name: str
    op_signature: str
    level: int
    task_id: int
    ops: _containers.RepeatedScalarFieldContainer[str]
    inputs: _containers.RepeatedCompositeFieldContainer[_task_pb2.TensorSpec]
    module_source: str
    functional_source: str
    cuda_source: str
    format: _kernel_pb2.CandidateFormat
    kernel_name: str
    correct: bool
    verified: bool
    max_abs_error: float
    max_rel_error: float
    error: str
    runtime_ms: float
    eager_ms: float
    compile_ms: float
    speedup_eager: float
    speedup_compile: float
    hardware: _hardware_pb2.Hardware
    parent_ids: _containers.RepeatedScalarFieldContainer[str]
    created_at: _timestamp_pb2.Timestamp
    ncu_profile: str
    torch_profile: str
    clang_tidy: str
    code_hash: str
    provenance: str
    def __init__(self, id: _Optional[str] = ..., task_name: _Optional[str] = ..., op_signature: _Optional[str] = ..., level: _Optional[int] = ..., task_id: _Optional[int] = ..., ops: _Optional[_Iterable[str]] = ..., inputs: _Optional[_Iterable[_Union[_task_pb2.TensorSpec, _Mapping]]] = ..., module_source: _Optional[str] = ..., functional_source: _Optional[str] = ..., cuda_source: _Optional[str] = ..., format: _Optional[_Union[_kernel_pb2.CandidateFormat, str]] = ..., kernel_name: _Optional[str] = ..., correct: _Optional[bool] = ..., verified: _Optional[bool] = ..., max_abs_error: _Optional[float] = ..., max_rel_error: _Optional[float] = ..., error: _Optional[str] = ..., runtime_ms: _Optional[float] = ..., eager_ms: _Optional[float] = ..., compile_ms: _Optional[float] = ..., speedup_eager: _Optional[float] = ..., speedup_compile: _Optional[float] = ..., hardware: _Optional[_Union[_hardware_pb2.Hardware, _Mapping]] = ..., parent_ids: _Optional[_Iterable[str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ncu_profile: _Optional[str] = ..., torch_profile: _Optional[str] = ..., clang_tidy: _Optional[str] = ..., code_hash: _Optional[str] = ..., provenance: _Optional[str] = ...) -> None: ...

class PutEntryRequest(_message.Message):
    __slots__ = ("entry",)
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    entry: ArchiveEntry
    def __init__(self, entry: _Optional[_Union[ArchiveEntry, _Mapping]] = ...) -> None: ...

class PutEntryResponse(_message.Message):
    __slots__ = ("id", "duplicate")
    ID_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    id: str
    duplicate: bool
    def __init__(self, id: _Optional[str] = ..., duplicate: _Optional[bool] = ...) -> None: ...

class GetEntryRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetEntryResponse(_message.Message):
    __slots__ = ("entry",)
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    entry: ArchiveEntry
    def __init__(self, entry: _Optional[_Union[ArchiveEntry, _Mapping]] = ...) -> None: ...

class DeleteEntryRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteEntryResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SearchRequest(_message.Message):
    __slots__ = ("ops", "inputs", "functional_source", "limit", "include_incorrect", "verified_only", "hardware", "exclude_task")
    OPS_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    FUNCTIONAL_SOURCE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_INCORRECT_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_ONLY_FIELD_NUMBER: _ClassVar[int]
    HARDWARE_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_TASK_FIELD_NUMBER: _ClassVar[int]
    ops: _containers.RepeatedScalarFieldContainer[str]
    inputs: _containers.RepeatedCompositeFieldContainer[_task_pb2.TensorSpec]
    functional_source: str
    limit: int
    include_incorrect: bool
    verified_only: bool
    hardware: str
    exclude_task: str
    def __init__(self, ops: _Optional[_Iterable[str]] = ..., inputs: _Optional[_Iterable[_Union[_task_pb2.TensorSpec, _Mapping]]] = ..., functional_source: _Optional[str] = ..., limit: _Optional[int] = ..., include_incorrect: _Optional[bool] = ..., verified_only: _Optional[bool] = ..., hardware: _Optional[str] = ..., exclude_task: _Optional[str] = ...) -> None: ...

class SearchHit(_message.Message):
    __slots__ = ("entry", "score")
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    entry: ArchiveEntry
    score: float
    def __init__(self, entry: _Optional[_Union[ArchiveEntry, _Mapping]] = ..., score: _Optional[float] = ...) -> None: ...

class SearchResponse(_message.Message):
    __slots__ = ("hits",)
    HITS_FIELD_NUMBER: _ClassVar[int]
    hits: _containers.RepeatedCompositeFieldContainer[SearchHit]
    def __init__(self, hits: _Optional[_Iterable[_Union[SearchHit, _Mapping]]] = ...) -> None: ...

class ImportEntriesRequest(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[ArchiveEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[ArchiveEntry, _Mapping]]] = ...) -> None: ...

class ImportEntriesResponse(_message.Message):
    __slots__ = ("received", "stored", "duplicates")
    RECEIVED_FIELD_NUMBER: _ClassVar[int]
    STORED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    received: int
    stored: int
    duplicates: int
    def __init__(self, received: _Optional[int] = ..., stored: _Optional[int] = ..., duplicates: _Optional[int] = ...) -> None: ...

class ExportEntriesRequest(_message.Message):
    __slots__ = ("batch_size",)
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    batch_size: int
    def __init__(self, batch_size: _Optional[int] = ...) -> None: ...

class ExportEntriesResponse(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[ArchiveEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[ArchiveEntry, _Mapping]]] = ...) -> None: ...

class GetStatsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetStatsResponse(_message.Message):
    __slots__ = ("total", "correct", "verified", "by_hardware", "by_format", "by_level", "backend")
    class ByHardwareEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class ByFormatEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class ByLevelEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    CORRECT_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_FIELD_NUMBER: _ClassVar[int]
    BY_HARDWARE_FIELD_NUMBER: _ClassVar[int]
    BY_FORMAT_FIELD_NUMBER: _ClassVar[int]
    BY_LEVEL_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    total: int
    correct: int
    verified: int
    by_hardware: _containers.ScalarMap[str, int]
    by_format: _containers.ScalarMap[str, int]
    by_level: _containers.ScalarMap[str, int]
    backend: str
    def __init__(self, total: _Optional[int] = ..., correct: _Optional[int] = ..., verified: _Optional[int] = ..., by_hardware: _Optional[_Mapping[str, int]] = ..., by_format: _Optional[_Mapping[str, int]] = ..., by_level: _Optional[_Mapping[str, int]] = ..., backend: _Optional[str] = ...) -> None: ...
