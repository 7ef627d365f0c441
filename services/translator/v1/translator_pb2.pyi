from kernelwright.common.v1 import kernel_pb2 as _kernel_pb2
from kernelwright.common.v1 import task_pb2 as _task_pb2
from kernelwright.common.v1 import verdict_pb2 as _verdict_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TranslateRequest(_message.Message):
    __slots__ = ("task", "program", "proposers", "max_attempts", "target_gpu", "format")
    TASK_FIELD_NUMBER: _ClassVar[int]
    PROGRAM_FIELD_NUMBER: _ClassVar[int]
    PROPOSERS_FIELD_NUMBER: _ClassVar[int]
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    TARGET_GPU_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    task: _task_pb2.Task
    program: _task_pb2.FunctionalProgram
    proposers: _containers.RepeatedScalarFieldContainer[str]
    max_attempts: int
    target_gpu: str
    format: _kernel_pb2.CandidateFormat
    def __init__(self, task: _Optional[_Union[_task_pb2.Task, _Mapping]] = ..., program: _Optional[_Union[_task_pb2.FunctionalProgram, _Mapping]] = ..., proposers: _Optional[_Iterable[str]] = ..., max_attempts: _Optional[int] = ..., target_gpu: _Optional[str] = ..., format: _Optional[_Union[_kernel_pb2.CandidateFormat, str]] = ...) -> None: ...

class Attempt(_message.Message):
    __slots__ = ("proposer", "candidate", "verdict", "seconds")
    PROPOSER_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    proposer: str
    candidate: _kernel_pb2.KernelCandidate
    verdict: _verdict_pb2.Verdict
    seconds: float
    def __init__(self, proposer: _Optional[str] = ..., candidate: _Optional[_Union[_kernel_pb2.KernelCandidate, _Mapping]] = ..., verdict: _Optional[_Union[_verdict_pb2.Verdict, _Mapping]] = ..., seconds: _Optional[float] = ...) -> None: ...

class TranslateResponse(_message.Message):
    __slots__ = ("translated", "candidate", "verdict", "attempts", "unsupported_ops", "message")
    TRANSLATED_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    UNSUPPORTED_OPS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    translated: bool
    candidate: _kernel_pb2.KernelCandidate
    verdict: _verdict_pb2.Verdict
    attempts: _containers.RepeatedCompositeFieldContainer[Attempt]
    unsupported_ops: _containers.RepeatedScalarFieldContainer[str]
    message: str
    def __init__(self, translated: _Optional[bool] = ..., candidate: _Optional[_Union[_kernel_pb2.KernelCandidate, _Mapping]] = ..., verdict: _Optional[_Union[_verdict_pb2.Verdict, _Mapping]] = ..., attempts: _Optional[_Iterable[_Union[Attempt, _Mapping]]] = ..., unsupported_ops: _Optional[_Iterable[str]] = ..., message: _Optional[str] = ...) -> None: ...
