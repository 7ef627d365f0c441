"""Two launch back ends for the fast format: cuda-python (cuda.bindings.driver) and pycuda.

Both load a CUBIN into the primary context that PyTorch also uses, so kernels read and write
torch-allocated memory directly, and both launch on PyTorch's current stream (pycuda: the legacy
default stream, which is torch's current stream in the evaluator — it never switches streams).
Scalars are passed with the width of the kernel's own parameter type (int -> 32-bit, long long /
int64_t / size_t -> 64-bit, float, double); tensors as device pointers.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any, Protocol

# Argument kinds a resolved launch passes (from the kernel's C signature).
PTR, I32, U32, I64, F32, F64 = "ptr", "i32", "u32", "i64", "f32", "f64"


class LaunchError(RuntimeError):
    pass


@dataclass
class KernelResources:
    registers: int
    static_shared_bytes: int
    local_bytes: int
    max_threads_per_block: int


class Launcher(Protocol):
    name: str

    def load(self, image: bytes) -> Any: ...
    def function(self, module: Any, name: str, dynamic_shared_bytes: int = 0) -> Any: ...
    def launch(self, fn: Any, grid: tuple[int, int, int], block: tuple[int, int, int], shared: int,
               stream: int, args: list[tuple[str, Any]]) -> None: ...
    def resources(self, fn: Any) -> KernelResources: ...


class CudaPythonLauncher:
    name = "cuda-python"

    def __init__(self) -> None:
        from cuda.bindings import driver

        self._cu = driver

    def _check(self, result: Any) -> Any:
        err, *rest = result if isinstance(result, tuple) else (result,)
        if int(err) != 0:
            _, text = self._cu.cuGetErrorString(err)
            raise LaunchError(f"{err.name if hasattr(err, 'name') else err}: "
                              f"{text.decode() if isinstance(text, bytes) else text}")
        return rest[0] if len(rest) == 1 else rest

    def load(self, image: bytes) -> Any:
        return self._check(self._cu.cuModuleLoadData(image))

    def function(self, module: Any, name: str, dynamic_shared_bytes: int = 0) -> Any:
        fn = self._check(self._cu.cuModuleGetFunction(module, name.encode()))
        if dynamic_shared_bytes > 48 * 1024:
            self._check(self._cu.cuFuncSetAttribute(
                fn, self._cu.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                dynamic_shared_bytes))
        return fn

    def launch(self, fn: Any, grid: tuple[int, int, int], block: tuple[int, int, int], shared: int,
               stream: int, args: list[tuple[str, Any]]) -> None:
        types = tuple({PTR: ctypes.c_void_p, I32: ctypes.c_int, U32: ctypes.c_uint, I64: ctypes.c_longlong,
                       F32: ctypes.c_float, F64: ctypes.c_double}[k] for k, _ in args)
        values = tuple(v for _, v in args)
        self._check(self._cu.cuLaunchKernel(fn, *grid, *block, shared, self._cu.CUstream(stream),
                                            (values, types), 0))

    def resources(self, fn: Any) -> KernelResources:
        attr = self._cu.CUfunction_attribute

        def get(a: Any) -> int:
            return int(self._check(self._cu.cuFuncGetAttribute(a, fn)))

        return KernelResources(get(attr.CU_FUNC_ATTRIBUTE_NUM_REGS), get(attr.CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES),
                               get(attr.CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES),
                               get(attr.CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK))


class PycudaLauncher:
    name = "pycuda"

    def __init__(self) -> None:
        # A pycuda built without the driver library linked resolves cu* symbols from the process:
        # make the driver's symbols global before its extension loads.
        ctypes.CDLL("libcuda.so.1", mode=ctypes.RTLD_GLOBAL)
        import numpy as np
        import pycuda.autoprimaryctx  # noqa: F401 - shares the primary context with torch
        import pycuda.driver as drv

        self._np, self._drv = np, drv

    def load(self, image: bytes) -> Any:
        try:
            return self._drv.module_from_buffer(image)
        except self._drv.Error as exc:
            raise LaunchError(str(exc)) from exc

    def function(self, module: Any, name: str, dynamic_shared_bytes: int = 0) -> Any:
        fn = module.get_function(name)
        if dynamic_shared_bytes > 48 * 1024:
            fn.set_attribute(self._drv.function_attribute.MAX_DYNAMIC_SHARED_SIZE_BYTES, dynamic_shared_bytes)
        return fn

    def launch(self, fn: Any, grid: tuple[int, int, int], block: tuple[int, int, int], shared: int,
               stream: int, args: list[tuple[str, Any]]) -> None:
        if stream != 0:
            raise LaunchError("the pycuda back end launches on the legacy default stream only")
        np = self._np
        conv = {PTR: np.uintp, I32: np.int32, U32: np.uint32, I64: np.int64, F32: np.float32, F64: np.float64}
        try:
            fn(*[conv[k](v) for k, v in args], grid=grid, block=block, shared=shared)
        except self._drv.Error as exc:
            raise LaunchError(str(exc)) from exc

    def resources(self, fn: Any) -> KernelResources:
        return KernelResources(fn.num_regs, fn.shared_size_bytes, fn.local_size_bytes, fn.max_threads_per_block)


def make_launcher(name: str) -> Launcher:
    if name == "cuda-python":
        return CudaPythonLauncher()
    if name == "pycuda":
        return PycudaLauncher()
    raise ValueError(f"unknown launcher {name!r} (cuda-python or pycuda)")
