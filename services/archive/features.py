"""Deterministic, local embeddings for stepping-stone retrieval (no model downloads).

Two vectors per entry:

``graph`` (dense, :data:`DENSE_DIM` float32, L2-normalized) describes *what is computed*:

====================  =====  ====================================================================
block                 dims   content
====================  =====  ====================================================================
op bag (vocabulary)   96     counts of known op kinds (:data:`OP_VOCAB`), sqrt-damped
op bag (hashed)       32     counts of unknown op kinds, hashed into buckets
op families           12     coarse families (conv, matmul, norm, activation, ...) -> "similar"
                             ops (conv2d vs conv3d) are still near each other
op bigrams            64     hashed ordered pairs (a->b) for order, plus "^a" / "b$" end markers
shape statistics      16     log-scaled: #inputs, rank histogram, log2 numel (max/sum/min),
                             log2 largest/smallest dim, batch dim
dtype one-hot         8      float32, float16, bfloat16, float64, int8, int32, int64, bool/other
====================  =====  ====================================================================

Each block is scaled by a fixed weight before the final L2 normalization so that ops dominate,
then order, then shapes/dtypes.

``code`` (sparse) is the bag of hashed code tokens of ``functional_source`` (+ ``cuda_source``
when given): regex tokenization over identifiers / numbers / punctuation, feature hashing
(blake2b, stable across processes - never Python's salted ``hash``) into ``2**SPARSE_BITS``
indices, sublinear tf weights ``1 + log(tf)``, L2-normalized.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

SPARSE_BITS = 18
SPARSE_DIM = 1 << SPARSE_BITS

OP_VOCAB: tuple[str, ...] = (
    # conv / linear algebra
    "conv1d", "conv2d", "conv3d", "convtranspose1d", "convtranspose2d", "convtranspose3d",
    "matmul", "linear", "gemm", "bmm", "einsum", "addmm", "outer",
    # normalization
    "batchnorm", "layernorm", "groupnorm", "instancenorm", "rmsnorm", "norm", "normalize",
    # activations
    "relu", "leakyrelu", "gelu", "silu", "swish", "sigmoid", "tanh", "hardtanh", "hardswish",
    "hardsigmoid", "mish", "elu", "selu", "softplus", "softsign", "clamp",
    # softmax family
    "softmax", "logsoftmax", "logsumexp",
    # elementwise arithmetic
    "add", "sub", "mul", "div", "scaling", "bias", "residual", "pow", "exp", "log", "sqrt",
    "abs", "min", "max", "where",
    # reductions
    "sum", "mean", "argmax", "argmin", "cumsum", "cumprod", "prod", "var", "std",
    # pooling / resampling
    "maxpool", "avgpool", "adaptiveavgpool", "adaptivemaxpool", "upsample",
    # attention / sequence
    "attention", "dropout", "embedding", "lstm", "gru", "rnn",
    # losses
    "crossentropy", "mseloss", "kldiv", "tripletmarginloss", "hingeloss", "huberloss",
    # misc
    "transpose", "reshape",
)
assert len(OP_VOCAB) <= 96, len(OP_VOCAB)
_OP_INDEX = {op: i for i, op in enumerate(OP_VOCAB)}

# Synonyms / spellings folded onto a vocabulary entry.
OP_ALIASES: dict[str, str] = {
    "conv": "conv2d", "convolution": "conv2d",
    "conv_transpose1d": "convtranspose1d", "conv_transpose2d": "convtranspose2d",
    "conv_transpose3d": "convtranspose3d", "convtranspose": "convtranspose2d",
    "mm": "matmul", "matrixmultiply": "matmul", "matrixmultiplication": "matmul",
    "baddbmm": "bmm", "dense": "linear", "fc": "linear",
    "batch_norm": "batchnorm", "batchnorm1d": "batchnorm", "batchnorm2d": "batchnorm",
    "batchnorm3d": "batchnorm", "bn": "batchnorm",
    "layer_norm": "layernorm", "group_norm": "groupnorm", "instance_norm": "instancenorm",
    "instancenorm2d": "instancenorm", "instancenorm3d": "instancenorm", "rms_norm": "rmsnorm",
    "frobeniusnorm": "norm", "l1norm": "norm", "l2norm": "norm",
    "leaky_relu": "leakyrelu", "relu6": "relu", "hardtanh_": "hardtanh",
    "hard_swish": "hardswish", "hard_sigmoid": "hardsigmoid", "log_softmax": "logsoftmax",
    "logsumexp_": "logsumexp",
    "addition": "add", "plus": "add", "biasadd": "bias", "add_bias": "bias",
    "subtract": "sub", "subtraction": "sub", "multiply": "mul", "multiplication": "mul",
    "scale": "scaling", "divide": "div", "division": "div",
    "clip": "clamp", "clamp_min": "clamp", "clamp_max": "clamp", "minimum": "min",
    "maximum": "max", "reduce_sum": "sum", "reduce_mean": "mean", "average": "mean",
    "maxpool1d": "maxpool", "maxpool2d": "maxpool", "maxpool3d": "maxpool", "max_pool": "maxpool",
    "avgpool1d": "avgpool", "avgpool2d": "avgpool", "avgpool3d": "avgpool", "avg_pool": "avgpool",
    "adaptiveavgpool2d": "adaptiveavgpool", "adaptiveavgpool3d": "adaptiveavgpool",
    "adaptive_avg_pool2d": "adaptiveavgpool", "globalavgpool": "adaptiveavgpool",
    "scaled_dot_product_attention": "attention", "multiheadattention": "attention",
    "selfattention": "attention", "crossentropyloss": "crossentropy", "cross_entropy": "crossentropy",
    "mse": "mseloss", "mse_loss": "mseloss", "kldivloss": "kldiv", "kl_div": "kldiv",
    "tripletmarginlossloss": "tripletmarginloss", "hingeembeddingloss": "hingeloss",
    "smoothl1loss": "huberloss", "huber": "huberloss", "permute": "transpose", "view": "reshape",
    "flatten": "reshape",
}

OP_FAMILIES: dict[str, str] = {}
for _fam, _ops in {
    "conv": ("conv1d", "conv2d", "conv3d"),
    "convt": ("convtranspose1d", "convtranspose2d", "convtranspose3d"),
    "matmul": ("matmul", "linear", "gemm", "bmm", "einsum", "addmm", "outer"),
    "norm": ("batchnorm", "layernorm", "groupnorm", "instancenorm", "rmsnorm", "norm",
             "normalize"),
    "act": ("relu", "leakyrelu", "gelu", "silu", "swish", "sigmoid", "tanh", "hardtanh",
            "hardswish", "hardsigmoid", "mish", "elu", "selu", "softplus", "softsign", "clamp"),
    "softmax": ("softmax", "logsoftmax", "logsumexp"),
    "elementwise": ("add", "sub", "mul", "div", "scaling", "bias", "residual", "pow", "exp",
                    "log", "sqrt", "abs", "min", "max", "where"),
    "reduce": ("sum", "mean", "argmax", "argmin", "cumsum", "cumprod", "prod", "var", "std"),
    "pool": ("maxpool", "avgpool", "adaptiveavgpool", "adaptivemaxpool", "upsample"),
    "seq": ("attention", "dropout", "embedding", "lstm", "gru", "rnn"),
    "loss": ("crossentropy", "mseloss", "kldiv", "tripletmarginloss", "hingeloss", "huberloss"),
    "layout": ("transpose", "reshape"),
}.items():
    for _op in _ops:
        OP_FAMILIES[_op] = _fam
FAMILY_NAMES: tuple[str, ...] = (
    "conv", "convt", "matmul", "norm", "act", "softmax", "elementwise", "reduce", "pool", "seq",
    "loss", "layout",
)
_FAMILY_INDEX = {f: i for i, f in enumerate(FAMILY_NAMES)}

DTYPES: tuple[str, ...] = ("float32", "float16", "bfloat16", "float64", "int8", "int32", "int64")
_DTYPE_ALIASES = {
    "fp32": "float32", "float": "float32", "f32": "float32", "torch.float32": "float32",
    "fp16": "float16", "half": "float16", "f16": "float16", "torch.float16": "float16",
    "bf16": "bfloat16", "torch.bfloat16": "bfloat16", "fp64": "float64", "double": "float64",
    "torch.float64": "float64", "torch.int8": "int8", "torch.int32": "int32", "int": "int32",
    "torch.int64": "int64", "long": "int64",
}

N_VOCAB = 96
N_HASHED = 32
N_FAMILY = len(FAMILY_NAMES)
N_BIGRAM = 64
N_SHAPE = 16
N_DTYPE = len(DTYPES) + 1
DENSE_DIM = N_VOCAB + N_HASHED + N_FAMILY + N_BIGRAM + N_SHAPE + N_DTYPE  # 228

_OFF_VOCAB = 0
_OFF_HASHED = _OFF_VOCAB + N_VOCAB
_OFF_FAMILY = _OFF_HASHED + N_HASHED
_OFF_BIGRAM = _OFF_FAMILY + N_FAMILY
_OFF_SHAPE = _OFF_BIGRAM + N_BIGRAM
_OFF_DTYPE = _OFF_SHAPE + N_SHAPE

# Block weights (applied after per-block L2 normalization).
W_OPS = 1.0
W_FAMILY = 0.45
W_BIGRAM = 0.6
W_SHAPE = 0.35
W_DTYPE = 0.2


def _stable_hash(text: str, salt: str = "") -> int:
    """64-bit process-independent hash (blake2b)."""
    digest = hashlib.blake2b((salt + text).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def canonical_op(name: str) -> str:
    """Lower-case, strip non-alphanumerics (keeping digits), fold aliases."""
    key = re.sub(r"[^0-9a-z_]", "", name.strip().lower())
    if key in OP_ALIASES:
        return OP_ALIASES[key]
    key2 = key.replace("_", "")
    if key2 in _OP_INDEX:
        return key2
    return OP_ALIASES.get(key2, key2)


def canonical_ops(ops: Iterable[str]) -> list[str]:
    return [c for c in (canonical_op(o) for o in ops) if c]


def ops_from_op_name(op_name: str) -> list[str]:
    """Derive ops from a KernelBench/Sakana ``Op_Name``.

    ``"13_ConvTranspose3d_Mean_Add_Softmax_Tanh_Scaling"`` ->
    ``["convtranspose3d", "mean", "add", "softmax", "tanh", "scaling"]``.
    Level-1 single-op names such as ``"1_Square_matrix_multiplication_"`` fold to one op when the
    joined words form a known op.
    """
    parts = [p for p in op_name.strip().split("_") if p]
    if parts and parts[0].isdigit():
        parts = parts[1:]
    if not parts:
        return []
    joined = canonical_op("".join(parts))
    if joined in _OP_INDEX:
        return [joined]
    low = joined.lower()
    if "scalarmultiplication" in low:
        return ["mul"]
    if "batchedmatrixmultiplication" in low or "batchmatmul" in low:
        return ["bmm"]
    if "matrixmultiplication" in low or "vectormultiplication" in low or "matmul" in low:
        other = [canonical_op(p) for p in parts]
        if not any(o in _OP_INDEX and o not in ("matmul", "mul") for o in other):
            return ["matmul"]
    # multi-word names of one op ("Matrix_Multiplication", "Batch_Norm") fold greedily
    out: list[str] = []
    i = 0
    while i < len(parts):
        for j in range(min(len(parts), i + 4), i, -1):
            cand = canonical_op("".join(parts[i:j]))
            if j - i > 1 and cand in _OP_INDEX:
                out.append(cand)
                i = j
                break
        else:
            cand = canonical_op(parts[i])
            if cand:
                out.append(cand)
            i += 1
    return out


_TORCH_CALL_RE = re.compile(
    r"\b(?:F|torch|nn|torch\.nn\.functional)\.([A-Za-z_][A-Za-z0-9_]*)\s*\(|"
    r"\.\s*(relu|sigmoid|tanh|softmax|clamp|sum|mean|max|min|exp|log|sqrt|abs|pow)\s*\("
)
_SKIP_CALLS = {
    "tensor", "zeros", "ones", "empty", "randn", "rand", "arange", "full", "zeros_like",
    "ones_like", "empty_like", "Parameter", "Module", "cat", "stack", "contiguous", "size",
    "float", "half", "to", "cuda", "manual_seed", "no_grad", "is_tensor", "device",
}


def ops_from_functional_source(source: str) -> list[str]:
    """Ordered op calls found in a functional PyTorch source (``F.conv2d(...)``, ``torch.relu``)."""
    out: list[str] = []
    for m in _TORCH_CALL_RE.finditer(source or ""):
        name = m.group(1) or m.group(2)
        if not name or name in _SKIP_CALLS:
            continue
        out.append(canonical_op(name))
    return out


def canonical_dtype(dtype: str) -> str:
    d = dtype.strip().lower()
    return _DTYPE_ALIASES.get(d, d.replace("torch.", ""))


def _block(vec: np.ndarray, start: int, size: int, weight: float) -> None:
    seg = vec[start:start + size]
    n = float(np.linalg.norm(seg))
    if n > 0:
        vec[start:start + size] = seg * (weight / n)


def dense_vector(
    ops: Sequence[str],
    input_shapes: Sequence[Sequence[int]] = (),
    input_dtypes: Sequence[str] = (),
) -> np.ndarray:
    """The ``graph`` embedding (float32, length :data:`DENSE_DIM`, unit L2 norm or all zeros)."""
    vec = np.zeros(DENSE_DIM, dtype=np.float64)
    cops = canonical_ops(ops)
    counts = Counter(cops)
    for op, c in counts.items():
        w = math.sqrt(c)
        idx = _OP_INDEX.get(op)
        if idx is not None:
            vec[_OFF_VOCAB + idx] += w
        else:
            vec[_OFF_HASHED + _stable_hash(op, "op:") % N_HASHED] += w
        fam = OP_FAMILIES.get(op)
        if fam is not None:
            vec[_OFF_FAMILY + _FAMILY_INDEX[fam]] += w
    if cops:
        seq = ["^"] + cops + ["$"]
        for a, b in zip(seq, seq[1:]):
            vec[_OFF_BIGRAM + _stable_hash(f"{a}>{b}", "bi:") % N_BIGRAM] += 1.0

    # known ops and hashed unknown ops form one block
    _block(vec, _OFF_VOCAB, N_VOCAB + N_HASHED, W_OPS)
    _block(vec, _OFF_FAMILY, N_FAMILY, W_FAMILY)
    _block(vec, _OFF_BIGRAM, N_BIGRAM, W_BIGRAM)

    shapes = [[int(d) for d in s] for s in input_shapes]
    if shapes:
        s = vec[_OFF_SHAPE:_OFF_SHAPE + N_SHAPE]
        numels = [max(1, math.prod(sh)) if sh else 1 for sh in shapes]
        dims = [d for sh in shapes for d in sh if d > 0] or [1]
        s[0] = math.log2(1 + len(shapes)) / 3.0
        for sh in shapes:  # rank histogram 0..5+
            s[1 + min(len(sh), 5)] += 1.0 / len(shapes)
        s[7] = math.log2(max(numels)) / 32.0
        s[8] = math.log2(sum(numels)) / 32.0
        s[9] = math.log2(min(numels)) / 32.0
        s[10] = math.log2(max(dims)) / 16.0
        s[11] = math.log2(min(dims)) / 16.0
        s[12] = math.log2(shapes[0][0]) / 12.0 if shapes[0] and shapes[0][0] > 0 else 0.0
        s[13] = math.log2(shapes[0][-1]) / 16.0 if shapes[0] and shapes[0][-1] > 0 else 0.0
        s[14] = sum(len(sh) for sh in shapes) / (6.0 * len(shapes))
        s[15] = 1.0  # bias so shape-bearing vectors share a component
        _block(vec, _OFF_SHAPE, N_SHAPE, W_SHAPE)

    if input_dtypes:
        d = vec[_OFF_DTYPE:_OFF_DTYPE + N_DTYPE]
        for dt in input_dtypes:
            c = canonical_dtype(dt)
            idx = DTYPES.index(c) if c in DTYPES else len(DTYPES)
            d[idx] += 1.0
        _block(vec, _OFF_DTYPE, N_DTYPE, W_DTYPE)

    n = float(np.linalg.norm(vec))
    if n > 0:
        vec /= n
    return vec.astype(np.float32)


# identifiers, numbers (incl. floats/hex/suffixes), and punctuation runs
_CODE_TOKEN_RE = re.compile(
    r"[A-Za-z_][A-Za-z0-9_]*|0[xX][0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?[fFuUlL]*|"
    r"<<<|>>>|->|::|\+\+|--|[-+*/%=<>!&|^]=?|[()\[\]{};,.?:~]"
)


def code_tokens(text: str) -> list[str]:
    return _CODE_TOKEN_RE.findall(text or "")


def sparse_vector(*texts: str) -> tuple[list[int], list[float]]:
    """The ``code`` embedding: sorted hashed indices and ``1+log(tf)`` weights, L2-normalized."""
    tf: Counter[int] = Counter()
    for text in texts:
        for tok in code_tokens(text):
            tf[_stable_hash(tok, "tok:") & (SPARSE_DIM - 1)] += 1
    if not tf:
        return [], []
    idx = sorted(tf)
    vals = np.array([1.0 + math.log(tf[i]) for i in idx], dtype=np.float64)
    vals /= float(np.linalg.norm(vals))
    return idx, [float(v) for v in vals.astype(np.float32)]
