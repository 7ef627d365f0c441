"""Handler table: standard ``torch.nn`` modules -> ``torch.nn.functional`` calls.

Each handler mirrors the module's own ``forward`` (torch 2.x sources) so the
functional call computes the same thing, including training-mode behaviour:
norms and dropout take the function's ``training`` argument, exactly as the
module would read ``self.training``.  A handler raises ``Unsupported`` for a
configuration it does not reproduce faithfully; the converter then falls back
to ``torch.export``.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from .graph import Unsupported


class HandlerContext:
    """What a handler may use: parameters of the module, the training flag, node creation."""

    def __init__(self, lowering, module: nn.Module, qualname: str):
        self._lowering = lowering
        self.module = module
        self.qualname = qualname

    def param(self, attr: str):
        value = getattr(self.module, attr, None)
        if value is None:
            return None
        fqn = f"{self.qualname}.{attr}" if self.qualname else attr
        return self._lowering.tensor_arg(fqn, value)

    def training(self):
        return self._lowering.training_arg() if self.module.training else False

    def call(self, fn: Callable, args: tuple, kwargs: dict | None = None):
        return self._lowering.graph.call_function(fn, tuple(args), dict(kwargs or {}))

    def method(self, name: str, args: tuple, kwargs: dict | None = None):
        return self._lowering.graph.call_method(name, tuple(args), dict(kwargs or {}))


def _single_input(mod, args, kwargs, n: int = 1):
    if kwargs:
        raise Unsupported(f"{type(mod).__name__} called with keyword arguments {sorted(kwargs)}")
    if len(args) != n:
        raise Unsupported(f"{type(mod).__name__} called with {len(args)} arguments")
    return args


# --- convolutions -------------------------------------------------------------

_CONV = {nn.Conv1d: F.conv1d, nn.Conv2d: F.conv2d, nn.Conv3d: F.conv3d}
_CONVT = {nn.ConvTranspose1d: F.conv_transpose1d, nn.ConvTranspose2d: F.conv_transpose2d,
          nn.ConvTranspose3d: F.conv_transpose3d}


def _conv(ctx: HandlerContext, mod, args, kwargs):
    (x,) = _single_input(mod, args, kwargs)
    padding = mod.padding
    if mod.padding_mode != "zeros":
        x = ctx.call(F.pad, (x, list(mod._reversed_padding_repeated_twice)), {"mode": mod.padding_mode})
        padding = 0
    kw = {}
    if mod.stride != (1,) * len(mod.stride):
        kw["stride"] = mod.stride
    if padding not in (0, (0,) * len(mod.kernel_size)):
        kw["padding"] = padding
    if mod.dilation != (1,) * len(mod.dilation):
        kw["dilation"] = mod.dilation
    if mod.groups != 1:
        kw["groups"] = mod.groups
    return ctx.call(_CONV[type(mod)], (x, ctx.param("weight"), ctx.param("bias")), kw)


def _conv_transpose(ctx: HandlerContext, mod, args, kwargs):
    if kwargs or len(args) != 1:
        raise Unsupported(f"{type(mod).__name__} called with output_size")
    (x,) = args
    if mod.padding_mode != "zeros":
        raise Unsupported(f"{type(mod).__name__} with padding_mode={mod.padding_mode!r}")
    kw = {"stride": mod.stride, "padding": mod.padding, "output_padding": mod.output_padding,
          "groups": mod.groups, "dilation": mod.dilation}
    defaults = {"stride": 1, "padding": 0, "output_padding": 0, "groups": 1, "dilation": 1}
    kw = {k: v for k, v in kw.items()
          if not (v == defaults[k] or (isinstance(v, tuple) and all(e == defaults[k] for e in v)))}
    return ctx.call(_CONVT[type(mod)], (x, ctx.param("weight"), ctx.param("bias")), kw)


# --- linear -------------------------------------------------------------------

def _linear(ctx, mod, args, kwargs):
    (x,) = _single_input(mod, args, kwargs)
    return ctx.call(F.linear, (x, ctx.param("weight"), ctx.param("bias")))


def _bilinear(ctx, mod, args, kwargs):
    x1, x2 = _single_input(mod, args, kwargs, 2)
    return ctx.call(F.bilinear, (x1, x2, ctx.param("weight"), ctx.param("bias")))


# --- normalisation ------------------------------------------------------------

def _batch_norm(ctx, mod, args, kwargs):
    (x,) = _single_input(mod, args, kwargs)
    if mod.momentum is None:
        # cumulative averaging reads num_batches_tracked; not reproduced here
        raise Unsupported(f"{type(mod).__name__} with momentum=None")
    # mirrors _BatchNorm.forward: without running stats it always uses batch stats
    if mod.track_running_stats:
        mean, var = ctx.param("running_mean"), ctx.param("running_var")
        use_batch_stats = ctx.training()
    else:
        mean = var = None
        use_batch_stats = True
    return ctx.call(F.batch_norm, (x, mean, var),
                    {"weight": ctx.param("weight"), "bias": ctx.param("bias"),
                     "training": use_batch_stats, "momentum": mod.momentum, "eps": mod.eps})


def _instance_norm(ctx, mod, args, kwargs):
    (x,) = _single_input(mod, args, kwargs)
    # unbatched inputs (one dim fewer) are unsqueezed by the module; we cannot see
    # ranks during symbolic tracing, so only the batched form is emitted and the
    # numeric validation catches the other case.
    if mod.track_running_stats:
        mean, var = ctx.param("running_mean"), ctx.param("running_var")
        use_input_stats = ctx.training()
    else:
        mean = var = None
        use_input_stats = True
    return ctx.call(F.instance_norm, (x,),
                    {"running_mean": mean, "running_var": var, "weight": ctx.param("weight"),
                     "bias": ctx.param("bias"), "use_input_stats": use_input_stats,
                     "momentum": mod.momentum if mod.momentum is not None else 0.1, "eps": mod.eps})


def _group_norm(ctx, mod, args, kwargs):
    (x,) = _single_input(mod, args, kwargs)
    return ctx.call(F.group_norm, (x, mod.num_groups),
                    {"weight": ctx.param("weight"), "bias": ctx.param("bias"), "eps": mod.eps})


def _layer_norm(ctx, mod, args, kwargs):
    (x,) = _single_input(mod, args, kwargs)
    return ctx.call(F.layer_norm, (x, list(mod.normalized_shape)),
                    {"weight": ctx.param("weight"), "bias": ctx.param("bias"), "eps": mod.eps})


def _rms_norm(ctx, mod, args, kwargs):
    (x,) = _single_input(mod, args, kwargs)
    return ctx.call(F.rms_norm, (x, list(mod.normalized_shape)),
                    {"weight": ctx.param("weight"), "eps": mod.eps})


def _local_response_norm(ctx, mod, args, kwargs):
    (x,) = _single_input(mod, args, kwargs)
    return ctx.call(F.local_response_norm, (x, mod.size),
                    {"alpha": mod.alpha, "beta": mod.beta, "k": mod.k})


# --- activations ---------------------------------------------------------------

def _act(fn: Callable, attrs: tuple[str, ...] = (), positional: tuple[str, ...] = ()):
    """Activation whose functional form takes the module attributes as keywords."""

    def handler(ctx, mod, args, kwargs):
        (x,) = _single_input(mod, args, kwargs)
        kw = {a: getattr(mod, a) for a in attrs}
        if kw.get("inplace") is False:
            del kw["inplace"]  # the default; keeps the code short
        pos = tuple(getattr(mod, a) for a in positional)
        return ctx.call(fn, (x, *pos), kw)

    return handler


def _torch_fn(fn: Callable):
    def handler(ctx, mod, args, kwargs):
        (x,) = _single_input(mod, args, kwargs)
        return ctx.call(fn, (x,))

    return handler


def _softmax_like(fn: Callable):
    def handler(ctx, mod, args, kwargs):
        (x,) = _single_input(mod, args, kwargs)
        if mod.dim is None:
            raise Unsupported(f"{type(mod).__name__} with dim=None (implicit dim choice)")
        return ctx.call(fn, (x,), {"dim": mod.dim})

    return handler


def _prelu(ctx, mod, args, kwargs):
    (x,) = _single_input(mod, args, kwargs)
    return ctx.call(F.prelu, (x, ctx.param("weight")))


def _glu(ctx, mod, args, kwargs):
    (x,) = _single_input(mod, args, kwargs)
    return ctx.call(F.glu, (x,), {"dim": mod.dim})


def _threshold(ctx, mod, args, kwargs):
    (x,) = _single_input(mod, args, kwargs)
    return ctx.call(F.threshold, (x, mod.threshold, mod.value), {"inplace": mod.inplace} if mod.inplace else {})


# --- pooling ---------------------------------------------------------------------

_MAXPOOL = {nn.MaxPool1d: F.max_pool1d, nn.MaxPool2d: F.max_pool2d, nn.MaxPool3d: F.max_pool3d}
_AVGPOOL = {nn.AvgPool1d: F.avg_pool1d, nn.AvgPool2d: F.avg_pool2d, nn.AvgPool3d: F.avg_pool3d}
_ADAPTIVE_AVG = {nn.AdaptiveAvgPool1d: F.adaptive_avg_pool1d, nn.AdaptiveAvgPool2d: F.adaptive_avg_pool2d,
                 nn.AdaptiveAvgPool3d: F.adaptive_avg_pool3d}
_ADAPTIVE_MAX = {nn.AdaptiveMaxPool1d: F.adaptive_max_pool1d, nn.AdaptiveMaxPool2d: F.adaptive_max_pool2d,
                 nn.AdaptiveMaxPool3d: F.adaptive_max_pool3d}


def _max_pool(ctx, mod, args, kwargs):
    (x,) = _single_input(mod, args, kwargs)
    kw = {"kernel_size": mod.kernel_size, "stride": mod.stride}
    if mod.padding not in (0, (0, 0), (0, 0, 0)):
        kw["padding"] = mod.padding
    if mod.dilation not in (1, (1, 1), (1, 1, 1)):
        kw["dilation"] = mod.dilation
    if mod.ceil_mode:
        kw["ceil_mode"] = True
    if mod.return_indices:
        kw["return_indices"] = True
    return ctx.call(_MAXPOOL[type(mod)], (x,), kw)


def _avg_pool(ctx, mod, args, kwargs):
    (x,) = _single_input(mod, args, kwargs)
    kw = {"kernel_size": mod.kernel_size, "stride": mod.stride}
    if mod.padding not in (0, (0,), (0, 0), (0, 0, 0)):
        kw["padding"] = mod.padding
    if mod.ceil_mode:
        kw["ceil_mode"] = True
    if not mod.count_include_pad:
        kw["count_include_pad"] = False
    if getattr(mod, "divisor_override", None) is not None:
        kw["divisor_override"] = mod.divisor_override
    return ctx.call(_AVGPOOL[type(mod)], (x,), kw)


def _adaptive_avg(ctx, mod, args, kwargs):
    (x,) = _single_input(mod, args, kwargs)
    return ctx.call(_ADAPTIVE_AVG[type(mod)], (x, mod.output_size))


def _adaptive_max(ctx, mod, args, kwargs):
    (x,) = _single_input(mod, args, kwargs)
    kw = {"return_indices": True} if mod.return_indices else {}
    return ctx.call(_ADAPTIVE_MAX[type(mod)], (x, mod.output_size), kw)


def _lp_pool(fn):
    def handler(ctx, mod, args, kwargs):
        (x,) = _single_input(mod, args, kwargs)
        return ctx.call(fn, (x, float(mod.norm_type), mod.kernel_size),
                        {"stride": mod.stride, "ceil_mode": mod.ceil_mode})

    return handler


# --- dropout / shape / misc -----------------------------------------------------

def _dropout(fn: Callable):
    def handler(ctx, mod, args, kwargs):
        (x,) = _single_input(mod, args, kwargs)
        kw = {"p": mod.p, "training": ctx.training()}
        if mod.inplace:
            kw["inplace"] = True
        return ctx.call(fn, (x,), kw)

    return handler


def _identity(ctx, mod, args, kwargs):
    if len(args) != 1:
        raise Unsupported("Identity with several arguments")
    return args[0]


def _flatten(ctx, mod, args, kwargs):
    (x,) = _single_input(mod, args, kwargs)
    return ctx.call(torch.flatten, (x, mod.start_dim, mod.end_dim))


def _unflatten(ctx, mod, args, kwargs):
    (x,) = _single_input(mod, args, kwargs)
    return ctx.method("unflatten", (x, mod.dim, tuple(mod.unflattened_size)))


def _embedding(ctx, mod, args, kwargs):
    (x,) = _single_input(mod, args, kwargs)
    kw = {}
    for attr, default in (("padding_idx", None), ("max_norm", None), ("norm_type", 2.0),
                          ("scale_grad_by_freq", False), ("sparse", False)):
        if getattr(mod, attr) != default:
            kw[attr] = getattr(mod, attr)
    return ctx.call(F.embedding, (x, ctx.param("weight")), kw)


def _upsample(ctx, mod, args, kwargs):
    (x,) = _single_input(mod, args, kwargs)
    kw = {"size": mod.size, "scale_factor": mod.scale_factor, "mode": mod.mode,
          "align_corners": mod.align_corners}
    if getattr(mod, "recompute_scale_factor", None) is not None:
        kw["recompute_scale_factor"] = mod.recompute_scale_factor
    kw = {k: v for k, v in kw.items() if v is not None}
    return ctx.call(F.interpolate, (x,), kw)


def _pixel_shuffle(ctx, mod, args, kwargs):
    (x,) = _single_input(mod, args, kwargs)
    return ctx.call(F.pixel_shuffle, (x, mod.upscale_factor))


def _pixel_unshuffle(ctx, mod, args, kwargs):
    (x,) = _single_input(mod, args, kwargs)
    return ctx.call(F.pixel_unshuffle, (x, mod.downscale_factor))


def _channel_shuffle(ctx, mod, args, kwargs):
    (x,) = _single_input(mod, args, kwargs)
    return ctx.call(F.channel_shuffle, (x, mod.groups))


def _pad(ctx, mod, args, kwargs):
    (x,) = _single_input(mod, args, kwargs)
    mode = {nn.modules.padding._ReflectionPadNd: "reflect",
            nn.modules.padding._ReplicationPadNd: "replicate",
            nn.modules.padding._CircularPadNd: "circular"}
    for base, m in mode.items():
        if isinstance(mod, base):
            return ctx.call(F.pad, (x, list(mod.padding)), {"mode": m})
    return ctx.call(F.pad, (x, list(mod.padding)), {"value": float(mod.value)})


def _cosine_similarity(ctx, mod, args, kwargs):
    a, b = _single_input(mod, args, kwargs, 2)
    return ctx.call(F.cosine_similarity, (a, b), {"dim": mod.dim, "eps": mod.eps})


def _pairwise_distance(ctx, mod, args, kwargs):
    a, b = _single_input(mod, args, kwargs, 2)
    return ctx.call(F.pairwise_distance, (a, b), {"p": mod.norm, "eps": mod.eps, "keepdim": mod.keepdim})


def _loss(fn: Callable, attrs: tuple[str, ...], n_inputs: int = 2):
    def handler(ctx, mod, args, kwargs):
        inputs = _single_input(mod, args, kwargs, n_inputs)
        kw = {a: getattr(mod, a) for a in attrs}
        if getattr(mod, "weight", None) is not None:
            kw["weight"] = ctx.param("weight")
        return ctx.call(fn, tuple(inputs), kw)

    return handler


HANDLERS: dict[type, Callable[..., Any]] = {}
for _cls in _CONV:
    HANDLERS[_cls] = _conv
for _cls in _CONVT:
    HANDLERS[_cls] = _conv_transpose
for _cls in (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d):
    HANDLERS[_cls] = _batch_norm
for _cls in (nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d):
    HANDLERS[_cls] = _instance_norm
for _cls in _MAXPOOL:
    HANDLERS[_cls] = _max_pool
for _cls in _AVGPOOL:
    HANDLERS[_cls] = _avg_pool
for _cls in _ADAPTIVE_AVG:
    HANDLERS[_cls] = _adaptive_avg
for _cls in _ADAPTIVE_MAX:
    HANDLERS[_cls] = _adaptive_max

HANDLERS.update({
    nn.Linear: _linear,
    nn.Bilinear: _bilinear,
    nn.GroupNorm: _group_norm,
    nn.LayerNorm: _layer_norm,
    nn.LocalResponseNorm: _local_response_norm,
    nn.ReLU: _act(F.relu, ("inplace",)),
    nn.ReLU6: _act(F.relu6, ("inplace",)),
    nn.GELU: _act(F.gelu, ("approximate",)),
    nn.SiLU: _act(F.silu, ("inplace",)),
    nn.Mish: _act(F.mish, ("inplace",)),
    nn.Hardswish: _act(F.hardswish, ("inplace",)),
    nn.Hardsigmoid: _act(F.hardsigmoid, ("inplace",)),
    nn.Hardtanh: _act(F.hardtanh, ("min_val", "max_val", "inplace")),
    nn.LeakyReLU: _act(F.leaky_relu, ("negative_slope", "inplace")),
    nn.ELU: _act(F.elu, ("alpha", "inplace")),
    nn.CELU: _act(F.celu, ("alpha", "inplace")),
    nn.SELU: _act(F.selu, ("inplace",)),
    nn.Softplus: _act(F.softplus, ("beta", "threshold")),
    nn.Softshrink: _act(F.softshrink, ("lambd",)),
    nn.Hardshrink: _act(F.hardshrink, ("lambd",)),
    nn.Tanhshrink: _torch_fn(F.tanhshrink),
    nn.Softsign: _torch_fn(F.softsign),
    nn.LogSigmoid: _torch_fn(F.logsigmoid),
    nn.Sigmoid: _torch_fn(torch.sigmoid),
    nn.Tanh: _torch_fn(torch.tanh),
    nn.Threshold: _threshold,
    nn.PReLU: _prelu,
    nn.GLU: _glu,
    nn.Softmax: _softmax_like(F.softmax),
    nn.LogSoftmax: _softmax_like(F.log_softmax),
    nn.Softmin: _softmax_like(F.softmin),
    nn.LPPool1d: _lp_pool(F.lp_pool1d),
    nn.LPPool2d: _lp_pool(F.lp_pool2d),
    nn.Dropout: _dropout(F.dropout),
    nn.Dropout1d: _dropout(F.dropout1d),
    nn.Dropout2d: _dropout(F.dropout2d),
    nn.Dropout3d: _dropout(F.dropout3d),
    nn.AlphaDropout: _dropout(F.alpha_dropout),
    nn.FeatureAlphaDropout: _dropout(F.feature_alpha_dropout),
    nn.Identity: _identity,
    nn.Flatten: _flatten,
    nn.Unflatten: _unflatten,
    nn.Embedding: _embedding,
    nn.Upsample: _upsample,
    nn.PixelShuffle: _pixel_shuffle,
    nn.PixelUnshuffle: _pixel_unshuffle,
    nn.ChannelShuffle: _channel_shuffle,
    nn.CosineSimilarity: _cosine_similarity,
    nn.PairwiseDistance: _pairwise_distance,
    nn.MSELoss: _loss(F.mse_loss, ("reduction",)),
    nn.L1Loss: _loss(F.l1_loss, ("reduction",)),
    nn.SmoothL1Loss: _loss(F.smooth_l1_loss, ("reduction", "beta")),
    nn.HuberLoss: _loss(F.huber_loss, ("reduction", "delta")),
    nn.KLDivLoss: _loss(F.kl_div, ("reduction", "log_target")),
    nn.CrossEntropyLoss: _loss(F.cross_entropy, ("ignore_index", "reduction", "label_smoothing")),
    nn.NLLLoss: _loss(F.nll_loss, ("ignore_index", "reduction")),
    nn.BCELoss: _loss(F.binary_cross_entropy, ("reduction",)),
    nn.HingeEmbeddingLoss: _loss(F.hinge_embedding_loss, ("margin", "reduction")),
    nn.CosineEmbeddingLoss: _loss(F.cosine_embedding_loss, ("margin", "reduction"), 3),
    nn.TripletMarginLoss: _loss(F.triplet_margin_loss, ("margin", "p", "eps", "swap", "reduction"), 3),
    nn.MarginRankingLoss: _loss(F.margin_ranking_loss, ("margin", "reduction"), 3),
})
for _cls in (nn.ZeroPad1d, nn.ZeroPad2d, nn.ZeroPad3d, nn.ConstantPad1d, nn.ConstantPad2d,
             nn.ConstantPad3d, nn.ReflectionPad1d, nn.ReflectionPad2d, nn.ReflectionPad3d,
             nn.ReplicationPad1d, nn.ReplicationPad2d, nn.ReplicationPad3d,
             nn.CircularPad1d, nn.CircularPad2d, nn.CircularPad3d):
    HANDLERS[_cls] = _pad
