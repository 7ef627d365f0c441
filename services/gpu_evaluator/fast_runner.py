"""Fast-format candidates: NVRTC-compiled CUDA plus a LaunchPlan the evaluator executes itself.

No candidate Python runs. Allocations are made here (NaN-filled during correctness trials, so an
unwritten element is a mismatch), kernels are launched through the configured back end on torch's
current stream, and allowlisted library ops run through torch (cuBLAS/cuDNN).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from kernelwright.common.v1 import kernel_pb2, verdict_pb2
from kernelwright.gpu_evaluator import launchers, plan as plan_mod
from kernelwright.gpu_evaluator.nvrtc_build import compile_cuda
from kernelwright.gpu_evaluator.runners import BuildFailed, CandidateRunner, ParameterCopies

V = verdict_pb2
_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16,
           "float64": torch.float64, "int32": torch.int32, "int64": torch.int64, "int8": torch.int8,
           "uint8": torch.uint8, "bool": torch.bool}
_I32 = {"int", "int32_t", "signed", "short", "int16_t", "char", "signed char", "int8_t", "bool"}
_U32 = {"unsigned", "unsigned int", "uint32_t", "unsigned short", "uint16_t", "unsigned char", "uint8_t"}

LIBRARY_OPS = {
    "matmul": torch.matmul, "mm": torch.mm, "bmm": torch.bmm, "addmm": torch.addmm, "linear": F.linear,
    "conv1d": F.conv1d, "conv2d": F.conv2d, "conv3d": F.conv3d, "conv_transpose1d": F.conv_transpose1d,
    "conv_transpose2d": F.conv_transpose2d, "conv_transpose3d": F.conv_transpose3d,
}


def _arg_kind(arg: plan_mod.ResolvedArg) -> str:
    if arg.kind == "tensor":
        return launchers.PTR
    ctype = arg.ctype
    if ctype in ("float",):
        return launchers.F32
    if ctype == "double":
        return launchers.F64
    if ctype in _I32:
        return launchers.I32
    if ctype in _U32:
        return launchers.U32
    if ctype:  # long, long long, int64_t, size_t, ...
        return launchers.I64
    return launchers.F32 if isinstance(arg.value, float) else launchers.I64


def default_arch(device: torch.device) -> str:
    major, minor = torch.cuda.get_device_capability(device)
    return f"sm_{major}{minor}{'a' if major >= 9 else ''}"


class FastRunner(CandidateRunner):
    def __init__(self, candidate: kernel_pb2.KernelCandidate, task: Any, device: torch.device, opts: Any,
                 cache_root: Path) -> None:
        self.device = device
        self.plan = candidate.plan
        self.signatures = plan_mod.parse_kernel_signatures(candidate.cuda_source)
        arch = opts.arch or default_arch(device)
        build = compile_cuda(candidate.cuda_source, arch=arch, cache_dir=cache_root / "nvrtc")
        self.build = build
        if not build.ok:
            raise BuildFailed(V.VERDICT_OUTCOME_COMPILE_ERROR, "NVRTC could not compile the candidate", build.log)
        self.launcher = launchers.make_launcher(opts.launcher)
        try:
            module = self.launcher.load(build.cubin)
        except launchers.LaunchError as exc:
            raise BuildFailed(V.VERDICT_OUTCOME_COMPILE_ERROR, f"the CUBIN did not load: {exc}") from exc
        self._module = module
        self._functions: dict[str, Any] = {}
        for step in self.plan.steps:
            if step.WhichOneof("step") == "launch":
                name = step.launch.kernel
                if name not in self._functions:
                    try:
                        self._functions[name] = self.launcher.function(module, name, step.launch.dynamic_shared_bytes)
                    except launchers.LaunchError as exc:
                        raise BuildFailed(V.VERDICT_OUTCOME_COMPILE_ERROR,
                                          f"kernel {name!r} is not in the compiled module: {exc}") from exc
        self.kernel_names = sorted(self._functions)
        # Copies, never the reference model's own tensors (runners.ParameterCopies says why).
        self._copies = ParameterCopies([(name.replace(".", "_"), t) for name, t in
                                        [*task.model.named_parameters(), *task.model.named_buffers()]])
        self.params = self._copies.tensors
        self._resolved: dict[tuple, plan_mod.ResolvedPlan] = {}

    def modified_parameter(self) -> str:
        return self._copies.modified()

    def resources(self) -> list[V.ResourceUsage]:
        out = []
        for name, fn in self._functions.items():
            r = self.launcher.resources(fn)
            spill = self.build.resources.get(name, {}).get("spill_bytes", 0)
            out.append(V.ResourceUsage(kernel=name, registers_per_thread=r.registers,
                                       static_shared_bytes=r.static_shared_bytes, local_bytes=r.local_bytes,
                                       spill_bytes=spill))
        return out

    def _resolve(self, inputs: tuple[Any, ...]) -> plan_mod.ResolvedPlan:
        key = tuple((tuple(x.shape), str(x.dtype)) if isinstance(x, torch.Tensor) else x for x in inputs)
        if key not in self._resolved:
            bound = {f"in{i}": plan_mod.ShapeInfo(tuple(x.shape), str(x.dtype).removeprefix("torch."))
                     if isinstance(x, torch.Tensor) else x for i, x in enumerate(inputs)}
            params = {n: plan_mod.ShapeInfo(tuple(t.shape), str(t.dtype).removeprefix("torch."))
                      for n, t in self.params.items()}
            self._resolved[key] = plan_mod.resolve(self.plan, bound, params, signatures=self.signatures)
        return self._resolved[key]

    def __call__(self, *inputs: Any) -> Any:
        resolved = self._resolve(inputs)
        tensors: dict[str, torch.Tensor] = dict(self.params)
        for i, x in enumerate(inputs):
            if isinstance(x, torch.Tensor):
                # Kernels index raw memory: give them the layout they assume.
                tensors[f"in{i}"] = x if x.is_contiguous() else x.contiguous()
        for a in resolved.allocations:
            dtype = _DTYPES[a.dtype]
            if self.poison_outputs and dtype.is_floating_point:
                tensors[a.name] = torch.full(a.shape, float("nan"), dtype=dtype, device=self.device)
            else:
                tensors[a.name] = torch.empty(a.shape, dtype=dtype, device=self.device)
        stream = torch.cuda.current_stream(self.device).cuda_stream
        for step in resolved.steps:
            if isinstance(step, plan_mod.ResolvedLaunch):
                args = []
                for arg in step.args:
                    value = tensors[arg.value].data_ptr() if arg.kind == "tensor" else arg.value
                    args.append((_arg_kind(arg), value))
                self.launcher.launch(self._functions[step.kernel], step.grid, step.block,
                                     step.dynamic_shared_bytes, stream, args)
            else:
                result = LIBRARY_OPS[step.op](*(tensors[n] for n in step.args), **_kwargs(step.attributes))
                if step.out_is_allocation:
                    tensors[step.out].copy_(result)
                else:
                    tensors[step.out] = result
        outputs = [tensors[name] for name in resolved.outputs]
        return outputs[0] if len(outputs) == 1 else tuple(outputs)


def _kwargs(attributes: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in attributes.items()}

