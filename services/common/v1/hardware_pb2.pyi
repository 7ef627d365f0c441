from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class Hardware(_message.Message):
    __slots__ = ("gpu_name", "compute_capability", "memory_bytes", "driver_version", "cuda_version", "torch_version", "pool", "shared")
    GPU_NAME_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_CAPABILITY_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    DRIVER_VERSION_FIELD_NUMBER: _ClassVar[int]
    CUDA_VERSION_FIELD_NUMBER: _ClassVar[int]
    TORCH_VERSION_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    SHARED_FIELD_NUMBER: _ClassVar[int]
    gpu_name: str
    compute_capability: str
    memory_bytes: int
    driver_version: str
    cuda_version: str
    torch_version: str
    pool: str
    shared: bool
    def __init__(self, gpu_name: _Optional[str] = ..., compute_capability: _Optional[str] = ..., memory_bytes: _Optional[int] = ..., driver_version: _Optional[str] = ..., cuda_version: _Optional[str] = ..., torch_version: _Optional[str] = ..., pool: _Optional[str] = ..., shared: _Optional[bool] = ...) -> None: ...
