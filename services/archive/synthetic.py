"""Synthetic but realistic archive entries, for benchmarks and load tests.

``synthetic_entries(n, seed)`` is deterministic for a given (n, seed) except for ``id`` values,
which are derived from the seed too (uuid from a seeded RNG), so two calls give equal lists.
"""

from __future__ import annotations

import random
import uuid

from .entry import ArchiveEntry

SYNTH_OPS: tuple[str, ...] = (
    "conv2d", "conv3d", "conv1d", "convtranspose2d", "convtranspose3d", "matmul", "gemm", "bmm",
    "linear", "batchnorm", "layernorm", "groupnorm", "instancenorm", "relu", "leakyrelu", "gelu",
    "silu", "sigmoid", "tanh", "hardtanh", "hardswish", "mish", "softplus", "clamp", "softmax",
    "logsoftmax", "logsumexp", "add", "sub", "mul", "div", "scaling", "bias", "sum", "mean",
    "max", "min", "maxpool", "avgpool", "dropout",
)
_HEADS = ("conv2d", "conv3d", "conv1d", "convtranspose2d", "convtranspose3d", "matmul", "gemm",
          "bmm", "linear")
_HW = ("NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-80GB", "NVIDIA L40S", "NVIDIA H200")

_TORCH_CALL = {
    "conv1d": "F.conv1d(x, conv_weight, conv_bias)",
    "conv2d": "F.conv2d(x, conv_weight, conv_bias, stride=1, padding=1)",
    "conv3d": "F.conv3d(x, conv_weight, conv_bias, stride=1, padding=1)",
    "convtranspose2d": "F.conv_transpose2d(x, conv_weight, conv_bias, stride=2)",
    "convtranspose3d": "F.conv_transpose3d(x, conv_weight, conv_bias, stride=2)",
    "matmul": "torch.matmul(x, weight)",
    "gemm": "F.linear(x, weight, bias)",
    "bmm": "torch.bmm(x, weight)",
    "linear": "F.linear(x, weight, bias)",
    "batchnorm": "F.batch_norm(x, running_mean, running_var, bn_weight, bn_bias, training=False)",
    "layernorm": "F.layer_norm(x, x.shape[-1:])",
    "groupnorm": "F.group_norm(x, num_groups, gn_weight, gn_bias)",
    "instancenorm": "F.instance_norm(x)",
    "relu": "torch.relu(x)",
    "leakyrelu": "F.leaky_relu(x, negative_slope=0.01)",
    "gelu": "F.gelu(x)",
    "silu": "F.silu(x)",
    "sigmoid": "torch.sigmoid(x)",
    "tanh": "torch.tanh(x)",
    "hardtanh": "F.hardtanh(x, min_val=-1.0, max_val=1.0)",
    "hardswish": "F.hardswish(x)",
    "mish": "F.mish(x)",
    "softplus": "F.softplus(x)",
    "clamp": "torch.clamp(x, min=clamp_min, max=clamp_max)",
    "softmax": "torch.softmax(x, dim=1)",
    "logsoftmax": "F.log_softmax(x, dim=1)",
    "logsumexp": "torch.logsumexp(x, dim=1, keepdim=True)",
    "add": "x + add_value",
    "sub": "x - subtract_value",
    "mul": "x * multiplier",
    "div": "x / divisor",
    "scaling": "x * scaling_factor",
    "bias": "x + bias_term",
    "sum": "torch.sum(x, dim=1, keepdim=True)",
    "mean": "torch.mean(x, dim=1, keepdim=True)",
    "max": "torch.max(x, dim=1, keepdim=True)[0]",
    "min": "torch.min(x, dim=1, keepdim=True)[0]",
    "maxpool": "F.max_pool2d(x, kernel_size=2)",
    "avgpool": "F.avg_pool2d(x, kernel_size=2)",
    "dropout": "F.dropout(x, p=0.0, training=False)",
}

_CUDA_EXPR = {
    "relu": "v = fmaxf(v, 0.0f);",
    "leakyrelu": "v = v > 0.0f ? v : 0.01f * v;",
    "gelu": "v = 0.5f * v * (1.0f + tanhf(0.7978845608f * (v + 0.044715f * v * v * v)));",
    "silu": "v = v / (1.0f + __expf(-v));",
    "sigmoid": "v = 1.0f / (1.0f + __expf(-v));",
    "tanh": "v = tanhf(v);",
    "hardtanh": "v = fminf(fmaxf(v, -1.0f), 1.0f);",
    "hardswish": "v = v * fminf(fmaxf(v + 3.0f, 0.0f), 6.0f) / 6.0f;",
    "mish": "v = v * tanhf(log1pf(__expf(v)));",
    "softplus": "v = log1pf(__expf(v));",
    "clamp": "v = fminf(fmaxf(v, clamp_min), clamp_max);",
    "add": "v += add_value;",
    "sub": "v -= subtract_value;",
    "mul": "v *= multiplier;",
    "div": "v /= divisor;",
    "scaling": "v *= scaling_factor;",
    "bias": "v += bias[c];",
    "dropout": "/* eval-mode dropout is identity */",
}


def _shape_for(head: str, rng: random.Random) -> list[int]:
    b = rng.choice([1, 2, 4, 8, 16, 32, 64, 128])
    if head in ("conv2d", "convtranspose2d"):
        return [b, rng.choice([3, 8, 16, 32, 64]), rng.choice([16, 32, 64, 128, 224]),
                rng.choice([16, 32, 64, 128, 224])]
    if head in ("conv3d", "convtranspose3d"):
        return [b, rng.choice([3, 8, 16, 32]), rng.choice([8, 16, 32]), rng.choice([16, 32, 64]),
                rng.choice([16, 32, 64])]
    if head == "conv1d":
        return [b, rng.choice([3, 16, 64]), rng.choice([128, 256, 1024, 4096])]
    if head == "bmm":
        return [b, rng.choice([64, 128, 256, 512]), rng.choice([64, 128, 256, 512])]
    return [b * 8, rng.choice([128, 256, 512, 1024, 2048, 4096])]


def _functional(ops: list[str], name: str) -> str:
    lines = [
        "import torch",
        "import torch.nn as nn",
        "import torch.nn.functional as F",
        "",
        "",
        "def module_fn(x: torch.Tensor, conv_weight: torch.Tensor, conv_bias: torch.Tensor,",
        "              weight: torch.Tensor, bias: torch.Tensor, **params) -> torch.Tensor:",
        f'    """Functional form of {name}."""',
    ]
    for op in ops:
        lines.append(f"    x = {_TORCH_CALL.get(op, f'torch.{op}(x)')}")
    lines.append("    return x")
    return "\n".join(lines) + "\n"


def _module(ops: list[str], name: str) -> str:
    body = "\n".join(f"        x = {_TORCH_CALL.get(op, f'torch.{op}(x)')}" for op in ops)
    return (
        "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n\n"
        f"class Model(nn.Module):\n    \"\"\"{name}\"\"\"\n\n"
        "    def __init__(self, in_channels, out_channels, kernel_size):\n"
        "        super().__init__()\n"
        "        self.weight = nn.Parameter(torch.randn(out_channels, in_channels))\n\n"
        f"    def forward(self, x):\n{body}\n        return x\n"
    )


def _cuda(ops: list[str], name: str, rng: random.Random, variant: int) -> str:
    block = rng.choice([128, 256, 512, 1024])
    unroll = rng.choice([1, 2, 4, 8])
    kname = f"{name.lower()}_kernel_v{variant}"
    head = ops[0]
    parts = [
        "#include <torch/extension.h>",
        "#include <cuda.h>",
        "#include <cuda_runtime.h>",
        "#include <cuda_fp16.h>",
        "",
        f"// Fused kernel for {' -> '.join(ops)} (variant {variant})",
        f"#define BLOCK_SIZE {block}",
        f"#define UNROLL {unroll}",
        "",
        "__device__ __forceinline__ float warp_reduce_sum(float val) {",
        "    for (int offset = 16; offset > 0; offset /= 2)",
        "        val += __shfl_down_sync(0xffffffff, val, offset);",
        "    return val;",
        "}",
        "",
    ]
    if head.startswith("conv") or head.startswith("convtranspose"):
        parts += [
            f"__global__ void {kname}(const float* __restrict__ input,",
            "                          const float* __restrict__ weight,",
            "                          const float* __restrict__ bias, float* __restrict__ output,",
            "                          int N, int C_in, int C_out, int H, int W, int K,",
            "                          float add_value, float multiplier, float divisor,",
            "                          float scaling_factor, float clamp_min, float clamp_max) {",
            "    int idx = blockIdx.x * blockDim.x + threadIdx.x;",
            "    int total = N * C_out * H * W;",
            "    if (idx >= total) return;",
            "    int w = idx % W; int h = (idx / W) % H; int c = (idx / (W * H)) % C_out;",
            "    int n = idx / (W * H * C_out);",
            "    float v = bias[c];",
            "    #pragma unroll UNROLL",
            "    for (int ci = 0; ci < C_in; ++ci) {",
            "        for (int kh = 0; kh < K; ++kh) {",
            "            for (int kw = 0; kw < K; ++kw) {",
            "                int ih = h + kh - K / 2; int iw = w + kw - K / 2;",
            "                if (ih >= 0 && ih < H && iw >= 0 && iw < W) {",
            "                    v += input[((n * C_in + ci) * H + ih) * W + iw] *",
            "                         weight[((c * C_in + ci) * K + kh) * K + kw];",
            "                }",
            "            }",
            "        }",
            "    }",
        ]
    else:
        tile = rng.choice([16, 32, 64])
        parts += [
            f"#define TILE {tile}",
            f"__global__ void {kname}(const float* __restrict__ A, const float* __restrict__ B,",
            "                          const float* __restrict__ bias, float* __restrict__ output,",
            "                          int M, int N, int K, float add_value, float multiplier,",
            "                          float divisor, float scaling_factor, float clamp_min,",
            "                          float clamp_max) {",
            "    __shared__ float As[TILE][TILE];",
            "    __shared__ float Bs[TILE][TILE];",
            "    int row = blockIdx.y * TILE + threadIdx.y;",
            "    int col = blockIdx.x * TILE + threadIdx.x;",
            "    int c = col;",
            "    float v = 0.0f;",
            "    for (int t = 0; t < (K + TILE - 1) / TILE; ++t) {",
            "        As[threadIdx.y][threadIdx.x] = (row < M && t * TILE + threadIdx.x < K) ?",
            "            A[row * K + t * TILE + threadIdx.x] : 0.0f;",
            "        Bs[threadIdx.y][threadIdx.x] = (col < N && t * TILE + threadIdx.y < K) ?",
            "            B[(t * TILE + threadIdx.y) * N + col] : 0.0f;",
            "        __syncthreads();",
            "        #pragma unroll",
            "        for (int i = 0; i < TILE; ++i) v += As[threadIdx.y][i] * Bs[i][threadIdx.x];",
            "        __syncthreads();",
            "    }",
            "    if (row >= M || col >= N) return;",
            "    int idx = row * N + col;",
        ]
    for op in ops[1:]:
        expr = _CUDA_EXPR.get(op)
        if expr:
            parts.append(f"    {expr}")
        elif op in ("softmax", "logsoftmax", "logsumexp", "sum", "mean", "max", "min"):
            parts += [
                f"    // {op}: block-wide reduction over the channel dimension",
                "    float red = warp_reduce_sum(v);",
                "    __shared__ float smem[32];",
                "    if ((threadIdx.x & 31) == 0) smem[threadIdx.x >> 5] = red;",
                "    __syncthreads();",
                "    red = (threadIdx.x < blockDim.x / 32) ? smem[threadIdx.x] : 0.0f;",
                "    red = warp_reduce_sum(red);",
                f"    v = {'__expf(v - red)' if 'softmax' in op else 'red'};",
            ]
        else:
            parts.append(f"    // {op} applied by a follow-up pass")
    parts += [
        "    output[idx] = v;",
        "}",
        "",
        "torch::Tensor forward(torch::Tensor x, torch::Tensor weight, torch::Tensor bias) {",
        "    auto output = torch::empty_like(x);",
        "    const int total = output.numel();",
        "    const int blocks = (total + BLOCK_SIZE - 1) / BLOCK_SIZE;",
        f"    // launch {kname}<<<blocks, BLOCK_SIZE>>>(...)",
        "    cudaError_t err = cudaGetLastError();",
        "    TORCH_CHECK(err == cudaSuccess, \"CUDA kernel failed: \", cudaGetErrorString(err));",
        "    return output;",
        "}",
        "",
        "PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {",
        f"    m.def(\"forward\", &forward, \"{name} fused forward (CUDA)\");",
        "}",
    ]
    return "\n".join(parts) + "\n"


def synthetic_entries(n: int, seed: int = 0) -> list[ArchiveEntry]:
    """``n`` realistic entries: op chains over ~40 ops, KernelBench-like shapes, 2-4 KB of code.

    About 100 tasks per 1,000 entries (several kernels per task, as in real archives), ~70 %
    correct, ~40 % verified, four GPU models, levels 1-3, formats "kernelbench"/"fast".
    """
    rng = random.Random(seed)
    n_tasks = max(1, n // 10)
    tasks = []
    for t in range(n_tasks):
        head = rng.choice(_HEADS)
        tail = rng.sample(SYNTH_OPS, rng.randint(0, 5))
        ops = [head] + [o for o in tail if o not in _HEADS]
        level = 1 if len(ops) == 1 else (2 if len(ops) <= 4 else 3)
        name = f"{t + 1}_" + "_".join(o.capitalize() for o in ops)
        shapes = [_shape_for(head, rng)]
        if rng.random() < 0.3:
            shapes.append([shapes[0][1]] if len(shapes[0]) > 1 else [1])
        dtype = rng.choices(["float32", "float16", "bfloat16"], weights=[8, 1, 1])[0]
        tasks.append((t + 1, name, ops, level, shapes, dtype))
    out: list[ArchiveEntry] = []
    for i in range(n):
        task_id, name, ops, level, shapes, dtype = tasks[rng.randrange(n_tasks)]
        correct = rng.random() < 0.7
        eager = rng.uniform(0.05, 30.0)
        runtime = eager / rng.uniform(0.3, 4.0)
        compile_ms = eager / rng.uniform(0.8, 1.6)
        out.append(
            ArchiveEntry(
                id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                task_name=name,
                op_signature="+".join(ops),
                level=level,
                task_id=task_id,
                ops=list(ops),
                input_shapes=[list(s) for s in shapes],
                input_dtypes=[dtype] * len(shapes),
                module_source=_module(ops, name),
                functional_source=_functional(ops, name),
                cuda_source=_cuda(ops, name, rng, i),
                format=rng.choice(["kernelbench", "kernelbench", "fast"]),
                kernel_name=f"{name.lower()}_kernel_v{i}",
                correct=correct,
                verified=rng.random() < 0.4,
                max_abs_error=rng.uniform(0, 1e-4) if correct else rng.uniform(0.01, 10),
                max_rel_error=rng.uniform(0, 1e-4) if correct else rng.uniform(0.01, 10),
                error="" if correct else "Output mismatch",
                runtime_ms=runtime,
                eager_ms=eager,
                compile_ms=compile_ms,
                speedup_eager=eager / runtime,
                speedup_compile=compile_ms / runtime,
                hardware=rng.choice(_HW),
                parent_ids=[],
                created_at=1_764_000_000.0 + i,
                ncu_profile="",
                torch_profile="",
                clang_tidy="",
                source="kernelwright",
            )
        )
    return out
