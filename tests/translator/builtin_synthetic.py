"""Small synthetic tasks (KernelBench shape) covering the builtin lowering's stage kinds."""

from __future__ import annotations

_TEMPLATE = '''
import torch
import torch.nn as nn
import torch.nn.functional as F

class Model(nn.Module):
    def __init__(self):
        super().__init__()
{init}
    def forward(self, {args}):
{body}

def get_inputs():
    return [{inputs}]

def get_init_inputs():
    return []
'''


def task(body: str, inputs: str = "torch.randn(4, 6, 5)", init: str = "        pass", args: str = "x") -> str:
    body = "\n".join("        " + line for line in body.strip().splitlines())
    return _TEMPLATE.format(init=init, body=body, inputs=inputs, args=args)


SYNTHETIC: dict[str, str] = {
    "linear_softmax": task("return torch.softmax(self.fc(x), dim=1)", "torch.randn(5, 12)",
                           "        self.fc = nn.Linear(12, 7)"),
    "linear_gelu_logsumexp": task("y = F.gelu(self.fc(x)) * 2.0\nreturn torch.logsumexp(y, dim=1, keepdim=True)",
                                  "torch.randn(5, 12)", "        self.fc = nn.Linear(12, 9)"),
    "conv_bn_relu_maxpool": task("return F.max_pool2d(torch.relu(self.bn(self.conv(x))), 2)",
                                 "torch.randn(3, 3, 9, 9)",
                                 "        self.conv = nn.Conv2d(3, 4, 3)\n        self.bn = nn.BatchNorm2d(4)"),
    "convT_groupnorm_tanh": task("return torch.tanh(self.gn(self.conv(x)))", "torch.randn(2, 4, 5, 5)",
                                 "        self.conv = nn.ConvTranspose2d(4, 6, 3, stride=2)\n"
                                 "        self.gn = nn.GroupNorm(3, 6)"),
    "layernorm": task("return self.ln(x)", "torch.randn(3, 4, 5, 6)", "        self.ln = nn.LayerNorm((5, 6))"),
    "instancenorm": task("return self.n(x)", "torch.randn(3, 4, 5, 6)", "        self.n = nn.InstanceNorm2d(4)"),
    "rmsnorm": task("return x / torch.sqrt(torch.mean(x ** 2, dim=1, keepdim=True) + 1e-5)", "torch.randn(4, 8, 3, 3)"),
    "argmax_min": task("return torch.argmax(x, dim=1), torch.min(x, dim=2)[0]"),
    "sum_mean_max": task("return torch.sum(x, dim=1) + torch.mean(x, dim=1) - torch.amax(x, dim=1)"),
    "cumsum_variants": task("a = torch.cumsum(x, dim=1)\nb = torch.cumsum(x.flip(2), dim=2).flip(2)\n"
                            "c = torch.cat((torch.zeros_like(x.select(1, 0).unsqueeze(1)), x), dim=1)[:, :-1]"
                            ".cumsum(dim=1)\nreturn a + b + c"),
    # ViT-style patches (overlapping windows in the second unfold), then a reduction over each patch.
    "unfold_patches": task("p = x.unfold(2, 2, 2).unfold(3, 3, 1)\n"
                           "return torch.relu(p.flatten(1) * 2.0), p.sum(dim=(-1, -2))", "torch.randn(4, 3, 6, 8)"),
    # any/all (the safe softmax of attention masks rows this way), feeding float outputs.
    "any_all_masks": task("a = torch.where(torch.any(x > 1.0, dim=2, keepdim=True), x, -x)\n"
                          "return a * (x > -1.5).all(dim=-1, keepdim=True), torch.softmax(x.masked_fill(x > 1.2, "
                          "float('-inf')), dim=-1)"),
    "avgpool_pad": task("return F.avg_pool2d(x, 3, stride=2, padding=1) + F.avg_pool2d(x, 3, 2, 1, "
                        "count_include_pad=False)", "torch.randn(2, 3, 7, 8)"),
    "maxpool1d_3d": task("return F.max_pool1d(x, 3, stride=2, padding=1, dilation=1)", "torch.randn(2, 3, 11)"),
    "mse_hinge": task("return torch.mean((x - y) ** 2) + torch.mean(torch.clamp(1 - x * y, min=0))",
                      "torch.randn(6, 7), torch.randn(6, 7)", args="x, y"),
    "bmm_instnorm_residual": task("z = torch.bmm(x, y)\nreturn (z - z.mean(dim=2, keepdim=True)) * 0.5 + z",
                                  "torch.randn(3, 4, 5), torch.randn(3, 5, 6)", args="x, y"),
    "flatten_linear": task("return self.fc(torch.relu(x).view(x.size(0), -1))", "torch.randn(3, 2, 3, 4)",
                           "        self.fc = nn.Linear(24, 5)"),
    "broadcast_params": task("return x * self.s + self.b - x.transpose(1, 2).sum(dim=1, keepdim=True).transpose(1, 2)",
                             "torch.randn(4, 6, 5)",
                             "        self.s = nn.Parameter(torch.randn(5))\n"
                             "        self.b = nn.Parameter(torch.randn(6, 1))"),
    "var_frobenius": task("return x.var(dim=-1, unbiased=True) + x.std(dim=-1) / torch.norm(x, p='fro')"),
    "pad_clamp_where": task("y = F.pad(x, (1, 2, 0, 1), value=0.5)\nreturn torch.where(y > 0, y, y * 0.1).clamp(-1, 2)"),
}


def shrink_task(src: str, cap: int = 16) -> str:
    """The task with every module-level integer literal above ``cap`` replaced by ``cap`` (or
    ``cap + 1`` for odd ones), so a real dev task runs on the CPU emulator in seconds."""
    import re

    out = []
    for line in src.splitlines():
        if re.match(r"^[A-Za-z_][\w, ]*=(?!=)", line) and not line.startswith(("def ", "class ")):
            lhs, rhs = line.split("=", 1)
            rhs = re.sub(r"(?<![\w.])(\d+)(?![\w.])",
                         lambda m: str(cap + int(m.group(1)) % 2) if int(m.group(1)) > cap else m.group(1), rhs)
            line = lhs + "=" + rhs
        out.append(line)
    return "\n".join(out) + "\n"
