from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConversionMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONVERSION_METHOD_UNSPECIFIED: _ClassVar[ConversionMethod]
    CONVERSION_METHOD_FX: _ClassVar[ConversionMethod]
    CONVERSION_METHOD_EXPORT: _ClassVar[ConversionMethod]
    CONVERSION_METHOD_LLM: _ClassVar[ConversionMethod]
CONVERSION_METHOD_UNSPECIFIED: ConversionMethod
CONVERSION_METHOD_FX: ConversionMethod
CONVERSION_METHOD_EXPORT: ConversionMethod
CONVERSION_METHOD_LLM: ConversionMethod

class Task(_message.Message):
    __slots__ = ("name", "source", "level", "task_id", "origin")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    name: str
    source: str
    level: int
    task_id: int
    origin: str
    def __init__(self, name: _Optional[str] = ..., source: _Optional[str] = ..., level: _Optional[int] = ..., task_id: _Optional[int] = ..., origin: _Optional[str] = ...) -> None: ...

class TensorSpec(_message.Message):
    __slots__ = ("shape", "dtype")
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    shape: _containers.RepeatedScalarFieldContainer[int]
    dtype: str
    def __init__(self, shape: _Optional[_Iterable[int]] = ..., dtype: _Optional[str] = ...) -> None: ...

class FunctionalProgram(_message.Message):
    __slots__ = ("source", "function_name", "parameter_names", "ops", "inputs", "method")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    FUNCTION_NAME_FIELD_NUMBER: _ClassVar[int]
    PARAMETER_NAMES_FIELD_NUMBER: _ClassVar[int]
    OPS_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    source: str
    function_name: str
    parameter_names: _containers.RepeatedScalarFieldContainer[str]
    ops: _containers.RepeatedScalarFieldContainer[str]
    inputs: _containers.RepeatedCompositeFieldContainer[TensorSpec]
    method: ConversionMethod
    def __init__(self, source: _Optional[str] = ..., function_name: _Optional[str] = ..., parameter_names: _Optional[_Iterable[str]] = ..., ops: _Optional[_Iterable[str]] = ..., inputs: _Optional[_Iterable[_Union[TensorSpec, _Mapping]]] = ..., method: _Optional[_Union[ConversionMethod, str]] = ...) -> None: ...
